# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# lib-mosquitto.sh — a mosquitto broker for the fleet tests (issue 12), after test/lib.sh:
# a CA made with openssl, the broker's certificate (its subjectAltName is its IP address,
# which is what knockwatch connects to), a client certificate per name, a rogue one from
# another CA, the fleet key, the ACL (the gateway may publish, hosts may only subscribe),
# and the broker itself in a network namespace of the test, stopped by PID (the EXIT
# trap of lib.sh stops it too).
#
#   kw_mqtt_require                     skip (77) without mosquitto, mosquitto_pub, openssl
#   kw_mqtt_pki DIR BROKER_IP NAME...   CA, broker and client certificates, fleet.key
#   kw_mqtt_conf DIR BROKER_IP [PORT] [FLEET] [WRITERS] [READERS]   mosquitto.conf and acl
#   kw_mqtt_start NS DIR                start it in namespace NS; wait until it listens
#   kw_mqtt_stop                        SIGTERM by PID, wait (it saves its sessions)
#   kw_mqtt_pub NS DIR NAME TOPIC FILE  mosquitto_pub -f FILE as client NAME (QoS 1)

MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
MQTT_PID=
MQTT_PORT=8883

kw_mqtt_require() {
        local p
        for p in "$MOSQUITTO" "$(command -v mosquitto_pub || true)" "$(command -v openssl || true)"; do
                if [[ -z $p || ! -x $p ]]; then
                        [[ ${CI:-} == true ]] && kw_fail "the fleet tests need mosquitto, mosquitto-clients and openssl (scripts/install-deps)"
                        echo "SKIP: the fleet tests need mosquitto, mosquitto-clients and openssl (scripts/install-deps)"
                        exit 77
                fi
        done
}

# _kw_mqtt_cert DIR NAME CA EXT: a P-256 key and a certificate for CN=NAME signed by CA.
_kw_mqtt_cert() {
        local dir=$1 name=$2 ca=$3 ext=$4
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null ||
                kw_fail "openssl: cannot make the key of $name"
        printf '%s\n' "$ext" >"$dir/$name.ext"
        openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
                -days 2 -out "$dir/$name.crt" -extfile "$dir/$name.ext" 2>/dev/null ||
                kw_fail "openssl: cannot sign the certificate of $name"
        chmod 0600 "$dir/$name.key"
}

_kw_mqtt_ca() {
        local dir=$1 name=$2
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
                -keyout "$dir/$name.key" -out "$dir/$name.crt" -subj "/CN=knockwatch test $name" \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
                2>/dev/null || kw_fail "openssl: cannot make $name"
}

# kw_mqtt_pki DIR BROKER_IP NAME...: DIR/ca.crt, DIR/broker.{crt,key}, DIR/NAME.{crt,key} for
# each NAME, DIR/rogue.{crt,key} (CN=gateway, but from another CA), DIR/fleet.key and
# DIR/other.key (a fleet key that is not the fleet's).
kw_mqtt_pki() {
        local dir=$1 ip=$2 name
        shift 2
        mkdir -p "$dir"
        _kw_mqtt_ca "$dir" ca
        _kw_mqtt_ca "$dir" rogue-ca
        _kw_mqtt_cert "$dir" broker ca "subjectAltName=IP:$ip
extendedKeyUsage=serverAuth"
        for name in "$@"; do
                _kw_mqtt_cert "$dir" "$name" ca "extendedKeyUsage=clientAuth"
        done
        # The rogue claims to be the gateway, signed by a CA the broker does not know.
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$dir/rogue.key" -out "$dir/rogue.csr" -subj "/CN=gateway" 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' >"$dir/rogue.ext"
        openssl x509 -req -in "$dir/rogue.csr" -CA "$dir/rogue-ca.crt" -CAkey "$dir/rogue-ca.key" \
                -CAcreateserial -days 2 -out "$dir/rogue.crt" -extfile "$dir/rogue.ext" 2>/dev/null ||
                kw_fail "openssl: cannot make the rogue certificate"
        chmod 0600 "$dir/rogue.key"
        (umask 077 && head -c 32 /dev/urandom | base32 -w0 >"$dir/fleet.key" &&
                head -c 32 /dev/urandom | base32 -w0 >"$dir/other.key") || kw_fail "cannot make the fleet keys"
}

# kw_mqtt_conf DIR BROKER_IP [PORT] [FLEET] [WRITERS] [READERS]: the broker's configuration.
# WRITERS (default "gateway") may publish to knockwatch/FLEET/#, READERS (default "host1
# host2") may subscribe to it; nobody else may do anything.
kw_mqtt_conf() {
        local dir=$1 ip=$2 port=${3:-8883} fleet=${4:-default} writers=${5:-gateway} readers=${6:-host1 host2} n
        MQTT_PORT=$port
        mkdir -p "$dir/db"
        {
                for n in $writers; do
                        printf 'user %s\ntopic write knockwatch/%s/#\n\n' "$n" "$fleet"
                done
                for n in $readers; do
                        printf 'user %s\ntopic read knockwatch/%s/#\n\n' "$n" "$fleet"
                done
        } >"$dir/acl"
        cat >"$dir/mosquitto.conf" <<EOF
# The fleet tests' broker: TLS with client certificates only, the CN is the user, the ACL
# says who may do what; sessions and their queues survive a restart.
user root
per_listener_settings false
allow_anonymous false
listener $port $ip
cafile $dir/ca.crt
certfile $dir/broker.crt
keyfile $dir/broker.key
require_certificate true
use_identity_as_username true
acl_file $dir/acl
persistence true
persistence_location $dir/db/
autosave_interval 1
max_packet_size 2048
max_queued_messages 10000
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
EOF
}

# kw_mqtt_start NS DIR: mosquitto in namespace NS, until its port is open.
kw_mqtt_start() {
        local ns=$1 dir=$2 ip
        ip=$(sed -n 's/^listener [0-9]* //p' "$dir/mosquitto.conf")
        ip netns exec "$ns" "$MOSQUITTO" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
        MQTT_PID=$!
        KW_PIDS+=("$MQTT_PID")
        # A TCP connect that succeeds (netprobe wants its own banner; mosquitto has none).
        kw_wait_until 10 ip netns exec "$ns" timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$MQTT_PORT" 2>/dev/null ||
                kw_fail "mosquitto did not start: $(tail -n 5 "$dir/mosquitto.log" "$dir/mosquitto.out" 2>/dev/null)"
}

# kw_mqtt_stop: SIGTERM the broker by PID and wait (it writes its database on the way out).
kw_mqtt_stop() {
        [[ -n $MQTT_PID ]] || return 0
        kill -TERM "$MQTT_PID" 2>/dev/null || true
        wait "$MQTT_PID" 2>/dev/null || true
        kw_forget_pid "$MQTT_PID"
        MQTT_PID=
}

# kw_mqtt_pub NS DIR NAME TOPIC FILE: publish FILE's bytes as client NAME (its certificate), QoS 1.
kw_mqtt_pub() {
        local ns=$1 dir=$2 name=$3 topic=$4 file=$5 ip
        ip=$(sed -n 's/^listener [0-9]* //p' "$dir/mosquitto.conf")
        ip netns exec "$ns" mosquitto_pub -h "$ip" -p "$MQTT_PORT" --cafile "$dir/ca.crt" \
                --cert "$dir/$name.crt" --key "$dir/$name.key" -q 1 -t "$topic" -f "$file" \
                -i "kw-test-pub-$name-$$-$RANDOM" ||
                kw_fail "mosquitto_pub as $name to $topic failed"
}
