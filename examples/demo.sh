#!/bin/sh
# pyinit in thirty seconds: an app that cleans up on SIGTERM, behind `sh -c` (the classic trap),
# stopped the way `docker stop` or the kubelet would stop it. Needs `pyinit` on PATH.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/ready" "$dir/idle"

# The app: prints when it is ready, and cleans up when it gets SIGTERM.
app='trap "echo app: got SIGTERM, finishing in-flight work...; echo app: clean exit; exit 0" TERM
echo app: ready > '"$dir/ready"'
exec 3<>'"$dir/idle"'
while :; do read -r _ <&3; done'

echo "demo: starting  pyinit -v -- sh -c 'app; echo done'"
pyinit -v --grace-period 5s -- sh -c "$app; echo done" &
pyinit_pid=$!
cat "$dir/ready"                      # wait for the app's handshake

echo "demo: sending SIGTERM to pyinit (pid $pyinit_pid), as docker stop would"
kill -TERM "$pyinit_pid"
code=0
wait "$pyinit_pid" || code=$?
echo "demo: pyinit exited with $code (the app's own code: it stopped gracefully)"
