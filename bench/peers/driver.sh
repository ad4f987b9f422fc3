# Sourced by bench/run-peers.sh and bench/run-training.sh. run_driver CMD...
# runs a Python driver in the background and waits for it, so that an
# interrupt or a kill of the script also stops the driver and every engine
# it started (a foreground child would keep running: bash runs its traps
# only after the child ends). The driver's standard output goes to
# $driver_out (a file), its standard error to the script's.
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -TERM "$1" 2>/dev/null || true
}

run_driver() {
  driver_out=$(mktemp)
  "$@" > "$driver_out" &
  local driver=$!
  trap "kill_tree $driver; rm -f '$driver_out'; echo 'interrupted: stopped the driver and its engines' >&2; exit 130" INT TERM
  local status=0
  wait "$driver" || status=$?
  trap - INT TERM
  return "$status"
}
