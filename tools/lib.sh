# Shared by tools/run-local and tools/run-tests (sourced, not run).

# Installs the packages of tools/deps (and any given) that are missing,
# without letting their maintainer scripts start the machine's services.
install_deps() {
	local missing=() p
	for p in $(grep -v '^#' "$SRC/tools/deps") "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		    missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages; install them with:" >&2
		echo "  sudo apt-get update && sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "installing: ${missing[*]}" >&2
	# policy-rc.d 101: packages may not start services (MariaDB, nginx).
	local made=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "${missing[@]}" >&2
	local rc=$?
	[ -n "$made" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || exit $rc
}

# Configures and builds in directory $1 with configure flags $2...
build() {
	local dir=$1
	shift
	[ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi >/dev/null)
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ]; then
		(cd "$dir" && "$SRC/configure" -q "$@") || exit 1
	fi
	make -s -C "$dir" -j"$(nproc)" all >/dev/null &&
	    make -s -C "$dir" -j"$(nproc)" check TESTS= >/dev/null || exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on and that this script
# has not handed out before (call it directly, not in $(...), so the list
# is kept): sets PORT.
PORTS_GIVEN=" "
free_port() {
	local p
	while :; do
		# Below the kernel's ephemeral range (32768 and up by default),
		# so no client connection of the tests can hold it.
		p=$((10000 + RANDOM % 20000))
		case $PORTS_GIVEN in *" $p "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		PORTS_GIVEN="$PORTS_GIVEN$p "
		PORT=$p
		return
	done
}

# CPU time (clock ticks) of process $1 and its children, live and reaped
# (bench/): its own utime, stime, cutime and cstime, and its live
# children's utime and stime (a worker that was replaced is in its
# parent's cutime). 0 for no process.
ticks() {
	local p
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
	{ awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"
	  for p in $(pgrep -P "$1" || true); do
		awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true
	  done; } | awk '{ s += $1 } END { printf "%d", s }'
}

# Microseconds per request of $1 clock ticks over $2 requests.
per_req() {
	awk -v d="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { printf "%.0f", n ? d * 1e6 / hz / n : 0 }'
}

# bench/: a second latchkeyd ($1: its build directory) beside the stack's
# in state directory $2, on the same database, behind the same nginx under
# base path /$3 (its socket $2/$3.sock, which the stack's NGINX_EXTRA must
# pass to): the same configuration but for its socket, pidfile, log and
# base path. Exits when it does not start.
second_latchkeyd() {
	local build=$1 state=$2 name=$3
	sed -e "s|^listen = .*|listen = $state/$name.sock|" \
	    -e "s|^pidfile = .*|pidfile = $state/$name.pid|" \
	    -e "s|^log = .*|log = $state/$name.log|" \
	    "$state/latchkey.conf" >"$state/$name.conf"
	echo "base_path = /$name" >>"$state/$name.conf"
	chmod 600 "$state/$name.conf"
	"$build/latchkeyd" -c "$state/$name.conf"
	for _ in $(seq 50); do [ -S "$state/$name.sock" ] && break; sleep 0.1; done
	[ -S "$state/$name.sock" ] || { echo "bench: the second latchkeyd did not start" >&2; exit 1; }
}

# Stops the second latchkeyd of state directory $1 named $2, if any.
stop_second() {
	local pid
	pid=$(cat "$1/$2.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
