#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Guest program: outputs set by MQTT commands, end to end on the real
# kernel.  mosquitto, fieldbridge-export and fieldbridge-gpio run in the
# guest; commands go to <base>/<device>/<point>/set as Home Assistant sends
# them, and the result is read back from the gpio-sim chip.  Also checks the
# discovery of the event entity and that inputs and presses reach the state.
X=/extra
BASE=fieldbridge/fbmq_ha
SIM=$FB_SIM_SYSFS
PIDS=""

fail() {
	echo "FAIL: $*"
	for f in /tmp/mosq.log /tmp/gpio.log /tmp/export.log; do echo "--- $f"; cat $f; done
	kill $PIDS 2>/dev/null
	exit 1
}
sub1() { $X/mosquitto_sub -h 127.0.0.1 -t "$1" -C 1 -W 3 2>/dev/null; }
pub() { $X/mosquitto_pub -h 127.0.0.1 -t "$1" -m "$2" || fail "publish $1"; }
# sim_wait OFFSET VALUE: up to 3 s for the line the driver drives
sim_wait() {
	for i in $(seq 1 60); do
		[ "$(cat $SIM/sim_gpio$1/value)" = "$2" ] && return 0
		sleep 0.05
	done
	fail "sim_gpio$1 is $(cat $SIM/sim_gpio$1/value), expected $2"
}
# state_has TEXT: up to 3 s for the retained device state to contain TEXT
state_has() {
	for i in $(seq 1 15); do
		sub1 "$BASE/board/state" | grep -q "$1" && return 0
		sleep 0.2
	done
	fail "state never contained $1: $(sub1 $BASE/board/state)"
}

ifconfig lo 127.0.0.1 up || fail "no loopback"
printf 'listener 1883 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\n' > /tmp/mosq.conf
$X/mosquitto -c /tmp/mosq.conf > /tmp/mosq.log 2>&1 &
PIDS="$!"
for i in 0 1 2 3 4 5 6 7; do echo pull-down > $SIM/sim_gpio$i/pull; done
$X/fieldbridge-gpio -c $X/gpio-mqtt.json --bus gpio 2> /tmp/gpio.log &
PIDS="$PIDS $!"
sleep 0.5
$X/fieldbridge-export -c $X/gpio-mqtt.json --connection ha 2> /tmp/export.log &
PIDS="$PIDS $!"

for i in $(seq 1 20); do
	kill -0 $PIDS 2>/dev/null || fail "a daemon exited"
	sub1 homeassistant/device/fbmq_ha_board/config > /tmp/disc.json && break
	sleep 0.2
done
grep -q "\"command_topic\":\"$BASE/board/relay/set\"" /tmp/disc.json || fail "no relay command topic in discovery: $(cat /tmp/disc.json)"
grep -q '"p":"event"' /tmp/disc.json || fail "no event component"
grep -q '"event_types":\["single","double","long"\]' /tmp/disc.json || fail "no event types"
echo "ok: discovery (switch, button, event)"

sim_wait 8 0
pub $BASE/board/relay/set ON
sim_wait 8 1
state_has '"relay":"ON"'
pub $BASE/board/relay_inv/set OFF
sim_wait 9 1
state_has '"relay_inv":"OFF"'
pub $BASE/board/relay/set OFF
sim_wait 8 0
state_has '"relay":"OFF"'
echo "ok: switches set by MQTT, read back from the sim"

pub $BASE/board/bell/set "{\"value\":\"PRESS\",\"event_id\":\"e2e-bell-1\",\"ts\":$(date +%s)000}"
sim_wait 10 1
sim_wait 10 0
echo "ok: button pulse"

echo pull-up > $SIM/sim_gpio0/pull
state_has '"bounce":"ON"'
$X/mosquitto_sub -h 127.0.0.1 -t "$BASE/board/state" -W 4 > /tmp/states.txt 2>/dev/null &
SUB=$!
sleep 0.5
echo pull-up > $SIM/sim_gpio2/pull
sleep 0.1
echo pull-down > $SIM/sim_gpio2/pull
wait $SUB
grep -q '"press":"single"' /tmp/states.txt || fail "no single press in the states: $(cat /tmp/states.txt)"
echo "ok: input and press event in the state"

kill $PIDS
wait
echo "PASS"
