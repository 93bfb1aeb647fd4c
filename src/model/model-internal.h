/* Shared between the model's own files; not for other parts. */
#ifndef FB_MODEL_INTERNAL_H
#define FB_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Raw value range of an integer or BCD type (the register bits read as
 * that type).  Returns false for non-integer types. */
bool fb_model_int_range(enum fb_data_type t, long double *min, long double *max);

/* True when scale/offset leave the raw value as it is. */
static inline bool fb_model_identity(const struct fb_point_def *p)
{
	return p->scale == 1.0 && p->offset == 0.0;
}

static inline bool fb_model_type_is_int(enum fb_data_type t)
{
	return t == FB_TYPE_INT16 || t == FB_TYPE_UINT16 || t == FB_TYPE_INT32 ||
	       t == FB_TYPE_UINT32 || t == FB_TYPE_INT64 || t == FB_TYPE_UINT64 ||
	       t == FB_TYPE_BCD16 || t == FB_TYPE_BCD32;
}

static inline bool fb_model_type_is_float(enum fb_data_type t)
{
	return t == FB_TYPE_FLOAT32 || t == FB_TYPE_FLOAT64;
}

static inline bool fb_model_type_is_numeric(enum fb_data_type t)
{
	return fb_model_type_is_int(t) || fb_model_type_is_float(t);
}

#endif
