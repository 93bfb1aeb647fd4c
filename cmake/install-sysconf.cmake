# SPDX-License-Identifier: Apache-2.0
# Run by `cmake --install` (install(CODE) in the top CMakeLists.txt) with
# fb_src (the shipped defaults), fb_etc (DESTDIR + the configuration
# directory) and fb_sysusers set.  Copies a default only where the file is
# absent, so a re-install or an upgrade keeps every edit, and gives the
# files the modes the daemons expect: users.json holds password hashes.
#
# Installing into the live system as root also creates the fieldbridge user
# (systemd-sysusers) and hands it the files; a DESTDIR install leaves
# ownership to whoever deploys the tree.
set(fb_live FALSE)
if("$ENV{DESTDIR}" STREQUAL "")
  execute_process(COMMAND id -u OUTPUT_VARIABLE fb_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(fb_uid STREQUAL "0")
    set(fb_live TRUE)
  endif()
endif()

if(fb_live)
  find_program(fb_sysusers_cmd systemd-sysusers)
  if(fb_sysusers_cmd)
    execute_process(COMMAND ${fb_sysusers_cmd} ${fb_sysusers})
  endif()
  execute_process(COMMAND id -u fieldbridge RESULT_VARIABLE fb_no_user
                  OUTPUT_QUIET ERROR_QUIET)
  if(fb_no_user)
    message(WARNING "no user fieldbridge (systemd-sysusers missing?): the daemons "
            "cannot read ${fb_etc}; create it and chown the files there")
    set(fb_live FALSE)
  endif()
endif()

macro(fb_own path owner)
  if(fb_live)
    execute_process(COMMAND chown ${owner} ${path})
  endif()
endmacro()

foreach(dir "" buses.d connections.d devices certs)
  if(NOT EXISTS "${fb_etc}/${dir}")
    message(STATUS "Creating: ${fb_etc}/${dir}")
    file(MAKE_DIRECTORY "${fb_etc}/${dir}")
    # file(MAKE_DIRECTORY) has no mode; chmod keeps the setgid bit so new
    # files belong to group fieldbridge.
    execute_process(COMMAND chmod 2770 "${fb_etc}/${dir}")
    fb_own("${fb_etc}/${dir}" root:fieldbridge)
  endif()
endforeach()
if(NOT EXISTS "${fb_etc}/secrets")
  message(STATUS "Creating: ${fb_etc}/secrets")
  file(MAKE_DIRECTORY "${fb_etc}/secrets")
  # g-s: the setgid bit inherited from the parent; nothing to share here.
  execute_process(COMMAND chmod 0700 "${fb_etc}/secrets")
  execute_process(COMMAND chmod g-s "${fb_etc}/secrets")
  fb_own("${fb_etc}/secrets" fieldbridge:fieldbridge)
endif()

set(fb_perms_fieldbridge.json OWNER_READ OWNER_WRITE GROUP_READ)
set(fb_perms_users.json OWNER_READ OWNER_WRITE)
foreach(name fieldbridge.json users.json)
  if(EXISTS "${fb_etc}/${name}")
    message(STATUS "Kept (exists): ${fb_etc}/${name}")
  else()
    message(STATUS "Installing: ${fb_etc}/${name}")
    file(COPY "${fb_src}/${name}" DESTINATION "${fb_etc}"
         FILE_PERMISSIONS ${fb_perms_${name}})
    fb_own("${fb_etc}/${name}" fieldbridge:fieldbridge)
  endif()
endforeach()
