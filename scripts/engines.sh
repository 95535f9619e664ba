#!/usr/bin/env bash
# engines.sh installs, starts and stops the real engines that coffer's
# integration tests run against, each bound to 127.0.0.1:
#
#   PostgreSQL 15 (Debian)        COFFER_POSTGRES_URL
#   FerretDB on SQLite            COFFER_MONGO_SQLITE_URL
#   FerretDB on PostgreSQL        COFFER_MONGO_PG_URL
#   dynalite (DynamoDB API)       COFFER_DYNAMODB_ENDPOINT
#   local-kms (AWS KMS API)       COFFER_KMS_ENDPOINT (key alias/coffer-test)
#   Vault, transit engine         COFFER_VAULT_ADDR, VAULT_ADDR, VAULT_TOKEN
#   Chromium (Debian)             COFFER_CHROMIUM
#   Firestore emulator            COFFER_FIRESTORE_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST
#     (Google Cloud SDK, Java)
#
# Usage:
#   bash scripts/engines.sh install   # once; apt needs root on a fresh machine
#   bash scripts/engines.sh start     # then: source .engines.env
#   bash scripts/engines.sh status    # exit status 0 only when every engine runs
#   bash scripts/engines.sh stop      # safe to repeat and to call from a trap
#
# Tools live under .tools/ and runtime state under .tools/run/ (both
# git-ignored); data lives in a temporary directory that stop removes.
# Ports can be moved with ENGINES_PG_PORT, ENGINES_MONGO_SQLITE_PORT,
# ENGINES_MONGO_PG_PORT, ENGINES_DYNAMODB_PORT, ENGINES_KMS_PORT,
# ENGINES_VAULT_PORT and ENGINES_FIRESTORE_PORT, e.g. when two checkouts run
# engines on one machine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/.tools
STATE=$TOOLS/run
ENV_FILE=$ROOT/.engines.env

PG_PORT=${ENGINES_PG_PORT:-55432}
MONGO_SQLITE_PORT=${ENGINES_MONGO_SQLITE_PORT:-27018}
MONGO_PG_PORT=${ENGINES_MONGO_PG_PORT:-27019}
DYNAMODB_PORT=${ENGINES_DYNAMODB_PORT:-4567}
KMS_PORT=${ENGINES_KMS_PORT:-4599}
VAULT_PORT=${ENGINES_VAULT_PORT:-8210}
FIRESTORE_PORT=${ENGINES_FIRESTORE_PORT:-8686}
# How long a server may take to answer on its port before start gives up.
WAIT_SECONDS=${ENGINES_WAIT_SECONDS:-30}
# The Firestore emulator is a Java program: about 20 s on an idle machine.
FIRESTORE_WAIT_SECONDS=${ENGINES_FIRESTORE_WAIT_SECONDS:-120}

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DYNALITE_VERSION=4.0.0
LOCAL_KMS=github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
AWS_REGION_NAME=eu-west-2

# Servers in start order; stop walks the list backwards so that FerretDB
# leaves PostgreSQL before PostgreSQL goes. The Firestore emulator starts
# first and is waited for last, as it takes longest.
SERVERS=(firestore postgres ferretdb-sqlite ferretdb-pg dynalite local-kms vault)

log() { printf 'engines: %s\n' "$*"; }
die() {
	printf 'engines: error: %s\n' "$*" >&2
	exit 1
}

now() { date +%s.%N; }
# since START prints the seconds elapsed since START, to a tenth.
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# as_postgres runs a command as the postgres user when we are root, because
# initdb and pg_ctl refuse to run as root.
as_postgres() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# alive PID succeeds while the process runs. A zombie counts as gone: in a
# container whose init does not reap, a stopped server lingers as one.
alive() {
	local stat
	if [[ -d /proc/self ]]; then
		stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
		stat=${stat##*) }
		[[ ${stat%% *} != Z ]]
	else
		kill -0 "$1" 2>/dev/null
	fi
}

# group_members PGID prints the PIDs of the processes of the process group
# PGID that still run (zombies excepted, as in alive).
group_members() {
	local f stat st pgrp
	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		read -r st _ pgrp _ <<<"${stat##*) }"
		if [[ $pgrp == "$1" && $st != Z ]]; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}

# group_alive PGID succeeds while a process of the process group PGID runs.
group_alive() {
	if [[ ! -d /proc/self ]]; then
		kill -0 -- "-$1" 2>/dev/null
		return
	fi
	[[ -n $(group_members "$1") ]]
}

# group_ours NAME PGID succeeds when a running process of the group is the
# server recorded as NAME: its leader (gcloud) may be gone, or a zombie that
# nobody reaps, while its Java child runs on.
group_ours() {
	local pid
	[[ -d /proc/self ]] || return 0 # no /proc: trust the record
	for pid in $(group_members "$2"); do
		ours "$1" "$pid" && return 0
	done
	return 1
}

# ours NAME PID succeeds when PID still runs the server recorded as NAME, so
# that a recycled PID is never signalled.
ours() {
	local want=$1 cmdline
	case $want in
	ferretdb-*) want=ferretdb ;;
	esac
	[[ -r /proc/$2/cmdline ]] || return 0 # no /proc: trust the record
	cmdline=$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$want"* ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port NAME PID PORT LOG waits until PORT answers, failing early when
# the server exits and late when WAIT_SECONDS pass.
wait_port() {
	local name=$1 pid=$2 port=$3 logf=$4 deadline=$((SECONDS + WAIT_SECONDS))
	until port_open "$port"; do
		if ! alive "$pid"; then
			tail -n 20 "$logf" >&2 || true
			die "$name (pid $pid) exited before answering on 127.0.0.1:$port; its log is above"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 20 "$logf" >&2 || true
			die "$name (pid $pid) did not answer on 127.0.0.1:$port within ${WAIT_SECONDS}s; its log is above"
		fi
		sleep 0.1
	done
}

# record NAME PID ADDRESS keeps what stop and status need.
record() {
	echo "$2" >"$STATE/$1.pid"
	echo "$3" >"$STATE/$1.addr"
}

# ---------------------------------------------------------------- install

# apt_install PACKAGE... installs Debian packages, running apt-get update
# at most once per install.
APT_UPDATED=false
apt_update() {
	((EUID == 0)) || die "Debian packages missing ($*): run install as root"
	export DEBIAN_FRONTEND=noninteractive
	if ! $APT_UPDATED; then
		apt-get update -q
		APT_UPDATED=true
	fi
}
apt_install() {
	apt_update "$@"
	apt-get install -y -q "$@"
}

install_apt() {
	local t missing=() p major
	t=$(now)
	for p in postgresql chromium curl; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		log "apt: postgresql chromium curl already installed"
	else
		apt_install "${missing[@]}"
		log "apt: installed ${missing[*]} in $(since "$t") s"
	fi
	# dynalite needs Node.js and npm. Some apt sources (NodeSource) ship npm
	# inside nodejs and conflict with Debian's npm package, so that one is
	# installed only when nodejs alone did not bring npm.
	if ! command -v npm >/dev/null; then
		t=$(now)
		command -v node >/dev/null || apt_install nodejs
		command -v npm >/dev/null || apt_install npm
		log "apt: installed Node.js in $(since "$t") s"
	fi
	major=$(node -p 'process.versions.node.split(".")[0]')
	((major >= 20)) || die "dynalite $DYNALITE_VERSION needs Node.js 20 or newer; found $(node --version)"
}

# firestore_emulator prints the path of the Firestore emulator's launcher
# in the Cloud SDK that gcloud belongs to, or fails.
firestore_emulator() {
	local root
	command -v gcloud >/dev/null || return 1
	root=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null) || return 1
	[[ -x $root/platform/cloud-firestore-emulator/cloud_firestore_emulator ]] || return 1
	echo "$root/platform/cloud-firestore-emulator/cloud_firestore_emulator"
}

# install_firestore makes sure Google's Cloud SDK, its Firestore emulator and
# a Java runtime are here. This machine kind ships them as the Debian
# packages google-cloud-cli and google-cloud-cli-firestore-emulator (from
# Google's apt repository) with OpenJDK 17. `gcloud components list` cannot
# tell (it needs the network, and an apt-installed SDK refuses
# `gcloud components install`), so the emulator is looked for in the SDK.
install_firestore() {
	local t missing=() p
	t=$(now)
	if firestore_emulator >/dev/null && command -v java >/dev/null; then
		log "firestore emulator: already installed (gcloud $(gcloud version 2>/dev/null | awk 'NR == 1 { print $NF }'), $(java -version 2>&1 | head -n 1))"
		return
	fi
	firestore_emulator >/dev/null || missing+=(google-cloud-cli google-cloud-cli-firestore-emulator)
	command -v java >/dev/null || missing+=(default-jre-headless)
	apt_update "${missing[@]}"
	for p in "${missing[@]}"; do
		apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' ||
			die "Debian package $p is not in this machine's apt sources; for the Cloud SDK add Google's repository (https://cloud.google.com/sdk/docs/install#deb) and run install again"
	done
	apt-get install -y -q "${missing[@]}"
	firestore_emulator >/dev/null || die "the Firestore emulator is still missing after installing ${missing[*]}"
	log "firestore emulator: installed ${missing[*]} in $(since "$t") s"
}

install_dynalite() {
	local t pkg=$TOOLS/dynalite/node_modules/dynalite/package.json
	t=$(now)
	if [[ -f $pkg ]] && [[ $(node -p "require('$pkg').version") == "$DYNALITE_VERSION" ]]; then
		log "dynalite $DYNALITE_VERSION already installed"
		return
	fi
	npm install --prefix "$TOOLS/dynalite" "dynalite@$DYNALITE_VERSION" --no-audit --no-fund
	log "dynalite: installed in $(since "$t") s"
}

install_local_kms() {
	local t stamp=$TOOLS/bin/local-kms.version
	t=$(now)
	if [[ -x $TOOLS/bin/local-kms && -f $stamp && $(<"$stamp") == "$LOCAL_KMS" ]]; then
		log "local-kms already installed"
		return
	fi
	# go install will not overwrite a file that is not a Go binary.
	rm -f "$TOOLS/bin/local-kms"
	GOBIN=$TOOLS/bin go install "$LOCAL_KMS"
	echo "$LOCAL_KMS" >"$stamp"
	log "local-kms: installed in $(since "$t") s"
}

install_ferretdb() {
	local t
	t=$(now)
	# Always rebuild: Go's cache makes an unchanged build take seconds, and
	# the binary then always matches tools/ferretdb.
	go build -C "$ROOT/tools/ferretdb" -o "$TOOLS/bin/ferretdb" .
	log "ferretdb: built in $(since "$t") s"
}

install_vault() {
	local t
	t=$(now)
	# Vault's core, HTTP API and transit engine (tools/vault). A first build
	# downloads and compiles much of Vault: about ten minutes on two cores;
	# later ones take seconds from Go's cache.
	go build -C "$ROOT/tools/vault" -o "$TOOLS/bin/vault" .
	log "vault: built in $(since "$t") s"
}

cmd_install() {
	local t
	t=$(now)
	command -v go >/dev/null || die "Go is needed to build local-kms and FerretDB"
	mkdir -p "$TOOLS/bin"
	install_apt
	install_firestore
	install_dynalite
	install_local_kms
	install_ferretdb
	install_vault
	log "install finished in $(since "$t") s"
}

# ---------------------------------------------------------------- start

start_postgres() {
	local t dir=$TMP/postgres pid
	t=$(now)
	mkdir "$dir"
	((EUID != 0)) || chown postgres "$dir"
	# Run from the data's parent: postgres may not be allowed into $PWD.
	(cd "$dir" && as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres \
		--auth=trust --no-sync --no-locale -E UTF8 >"$dir/initdb.log" 2>&1) ||
		{
			tail -n 20 "$dir/initdb.log" >&2
			die "initdb failed; its log is above"
		}
	# fsync is off because the data is thrown away at stop.
	(cd "$dir" && as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
		-w -t "$WAIT_SECONDS" -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >"$dir/pg_ctl.log" 2>&1) ||
		{
			tail -n 20 "$dir/postgres.log" >&2 || true
			die "PostgreSQL did not start; its log is above"
		}
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	record postgres "$pid" "127.0.0.1:$PG_PORT"
	echo "$dir/data" >"$STATE/postgres.data"
	wait_port postgres "$pid" "$PG_PORT" "$dir/postgres.log"
	"$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ferretdb
	log "postgres: started on 127.0.0.1:$PG_PORT (pid $pid) in $(since "$t") s"
}

# start_ferretdb NAME PORT HANDLER-FLAGS...
start_ferretdb() {
	local name=$1 port=$2 t pid
	shift 2
	t=$(now)
	"$TOOLS/bin/ferretdb" -listen "127.0.0.1:$port" "$@" </dev/null >"$TMP/$name.log" 2>&1 &
	pid=$!
	record "$name" "$pid" "127.0.0.1:$port"
	wait_port "$name" "$pid" "$port" "$TMP/$name.log"
	log "$name: started on 127.0.0.1:$port (pid $pid) in $(since "$t") s"
}

# launch_firestore starts the Firestore emulator without waiting for it:
# a Java program that takes longest to come up, so the other servers start
# meanwhile and wait_firestore waits for it last. gcloud runs a launcher
# script that runs Java as its child; all three get a process group (and
# session) of their own, recorded by its leader's PID, so stop ends them
# together. State is in memory only.
launch_firestore() {
	FIRESTORE_T=$(now)
	FIRESTORE_DEADLINE=$((SECONDS + FIRESTORE_WAIT_SECONDS))
	# setsid may fork; the launcher records the PID that leads the group.
	CLOUDSDK_CORE_DISABLE_PROMPTS=1 CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true \
		CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true \
		setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' launcher "$TMP/firestore.pid" \
		gcloud emulators firestore start --host-port="127.0.0.1:$FIRESTORE_PORT" \
		</dev/null >"$TMP/firestore.log" 2>&1 &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $TMP/firestore.pid ]] && break
		sleep 0.1
	done
	[[ -s $TMP/firestore.pid ]] || die "the Firestore emulator's launcher did not start"
	record firestore "$(<"$TMP/firestore.pid")" "127.0.0.1:$FIRESTORE_PORT"
}

# wait_firestore waits until the emulator answers "Ok" over HTTP (its port
# may open before it serves), at most FIRESTORE_WAIT_SECONDS from its launch.
wait_firestore() {
	local pid
	pid=$(<"$STATE/firestore.pid")
	until [[ $(curl -s --max-time 2 "http://127.0.0.1:$FIRESTORE_PORT/" 2>/dev/null) == Ok* ]]; do
		if ! group_alive "$pid"; then
			tail -n 20 "$TMP/firestore.log" >&2 || true
			die "the Firestore emulator (process group $pid) exited before answering on 127.0.0.1:$FIRESTORE_PORT; its log is above"
		fi
		if ((SECONDS >= FIRESTORE_DEADLINE)); then
			tail -n 20 "$TMP/firestore.log" >&2 || true
			die "the Firestore emulator (process group $pid) did not answer on 127.0.0.1:$FIRESTORE_PORT within ${FIRESTORE_WAIT_SECONDS}s of its launch; its log is above"
		fi
		sleep 0.2
	done
	log "firestore emulator: started on 127.0.0.1:$FIRESTORE_PORT (process group $pid) in $(since "$FIRESTORE_T") s"
}

start_dynalite() {
	local t pid
	t=$(now)
	# Without --path dynalite keeps its tables in memory; the zero delays
	# make tables ACTIVE at once instead of after DynamoDB-like waits.
	"$TOOLS/dynalite/node_modules/.bin/dynalite" --host 127.0.0.1 --port "$DYNAMODB_PORT" \
		--createTableMs 0 --deleteTableMs 0 --updateTableMs 0 </dev/null >"$TMP/dynalite.log" 2>&1 &
	pid=$!
	record dynalite "$pid" "127.0.0.1:$DYNAMODB_PORT"
	wait_port dynalite "$pid" "$DYNAMODB_PORT" "$TMP/dynalite.log"
	log "dynalite: started on 127.0.0.1:$DYNAMODB_PORT (pid $pid) in $(since "$t") s"
}

start_local_kms() {
	local t pid
	t=$(now)
	mkdir "$TMP/kms"
	# local-kms has no host option and binds every interface. A fresh data
	# path keeps keys from leaking between runs.
	PORT=$KMS_PORT KMS_REGION=$AWS_REGION_NAME KMS_SEED_PATH=$ROOT/testdata/kms-seed.yaml \
		KMS_DATA_PATH=$TMP/kms "$TOOLS/bin/local-kms" </dev/null >"$TMP/local-kms.log" 2>&1 &
	pid=$!
	record local-kms "$pid" "127.0.0.1:$KMS_PORT"
	wait_port local-kms "$pid" "$KMS_PORT" "$TMP/local-kms.log"
	log "local-kms: started on 127.0.0.1:$KMS_PORT (pid $pid) in $(since "$t") s"
}

start_vault() {
	local t pid
	t=$(now)
	# It writes its root token before it opens its port.
	"$TOOLS/bin/vault" -addr "127.0.0.1:$VAULT_PORT" -token-file "$TMP/vault.token" \
		</dev/null >"$TMP/vault.log" 2>&1 &
	pid=$!
	record vault "$pid" "127.0.0.1:$VAULT_PORT"
	wait_port vault "$pid" "$VAULT_PORT" "$TMP/vault.log"
	VAULT_TOKEN_VALUE=$(<"$TMP/vault.token")
	log "vault: started on 127.0.0.1:$VAULT_PORT (pid $pid) in $(since "$t") s"
}

write_env() {
	local chromium=$1 tmp=$ENV_FILE.tmp
	# It holds Vault's root token.
	(umask 077 && : >"$tmp")
	cat >"$tmp" <<EOF
# Written by scripts/engines.sh start and removed by its stop: source .engines.env
export COFFER_POSTGRES_URL='postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable'
export COFFER_MONGO_SQLITE_URL='mongodb://127.0.0.1:$MONGO_SQLITE_PORT/'
export COFFER_MONGO_PG_URL='mongodb://127.0.0.1:$MONGO_PG_PORT/'
export COFFER_DYNAMODB_ENDPOINT='http://127.0.0.1:$DYNAMODB_PORT'
export COFFER_KMS_ENDPOINT='http://127.0.0.1:$KMS_PORT'
export COFFER_CHROMIUM='$chromium'
export AWS_ACCESS_KEY_ID='test'
export AWS_SECRET_ACCESS_KEY='test'
export AWS_REGION='$AWS_REGION_NAME'
export AWS_EC2_METADATA_DISABLED='true'
export COFFER_VAULT_ADDR='http://127.0.0.1:$VAULT_PORT'
export VAULT_ADDR='http://127.0.0.1:$VAULT_PORT'
export VAULT_TOKEN='$VAULT_TOKEN_VALUE'
export COFFER_FIRESTORE_EMULATOR_HOST='127.0.0.1:$FIRESTORE_PORT'
export FIRESTORE_EMULATOR_HOST='127.0.0.1:$FIRESTORE_PORT'
EOF
	mv "$tmp" "$ENV_FILE"
}

cmd_start() {
	local t chromium name port
	t=$(now)
	[[ -x $PGBIN/initdb && -x $TOOLS/bin/ferretdb && -x $TOOLS/bin/local-kms && -x $TOOLS/bin/vault &&
		-x $TOOLS/dynalite/node_modules/.bin/dynalite ]] ||
		die "engines are not installed: run \`bash scripts/engines.sh install\` first"
	chromium=$(command -v chromium) || die "chromium is not installed: run \`bash scripts/engines.sh install\` first"
	command -v gcloud >/dev/null && command -v java >/dev/null && command -v curl >/dev/null ||
		die "the Firestore emulator (gcloud, java) or curl is not installed: run \`bash scripts/engines.sh install\` first"
	for name in "${SERVERS[@]}"; do
		if [[ -f $STATE/$name.pid ]] && alive "$(<"$STATE/$name.pid")"; then
			die "engines are already running (see \`bash scripts/engines.sh status\`); stop them first"
		fi
	done
	cmd_stop >/dev/null # clear what a crashed run left behind
	for port in "$PG_PORT" "$MONGO_SQLITE_PORT" "$MONGO_PG_PORT" "$DYNAMODB_PORT" "$KMS_PORT" "$VAULT_PORT" "$FIRESTORE_PORT"; do
		! port_open "$port" || die "port $port on 127.0.0.1 is already in use"
	done

	mkdir -p "$STATE"
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffer-engines.XXXXXX")
	echo "$TMP" >"$STATE/tmpdir"
	# The postgres user must be able to reach its data directory inside.
	chmod 711 "$TMP"
	# A half-started set of engines is worse than none.
	trap 'rc=$?; if ((rc != 0)); then echo "engines: start failed; stopping what started" >&2; cmd_stop >&2; fi' EXIT

	launch_firestore
	start_postgres
	start_ferretdb ferretdb-sqlite "$MONGO_SQLITE_PORT" -handler sqlite -sqlite-dir "$TMP/ferretdb-sqlite"
	start_ferretdb ferretdb-pg "$MONGO_PG_PORT" -handler postgresql \
		-postgresql-url "postgres://postgres@127.0.0.1:$PG_PORT/ferretdb"
	start_dynalite
	start_local_kms
	start_vault
	wait_firestore
	write_env "$chromium"
	trap - EXIT
	log "all engines started in $(since "$t") s; now run: source .engines.env"
}

# ---------------------------------------------------------------- stop

# stop_pid NAME PID signals the server and waits for it to go.
stop_pid() {
	local name=$1 pid=$2 sig=TERM i
	# SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients.
	[[ $name != postgres ]] || sig=INT
	kill -s "$sig" "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	echo "engines: $name (pid $pid) ignored SIG$sig for 10s; killing it" >&2
	kill -s KILL "$pid" 2>/dev/null || true
}

# stop_group NAME PGID signals every process of the group (the Firestore
# emulator: gcloud, its launcher script and Java) and waits for all to go.
stop_group() {
	local name=$1 pgid=$2 i
	kill -s TERM -- "-$pgid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		group_alive "$pgid" || return 0
		sleep 0.1
	done
	echo "engines: $name (process group $pgid) ignored SIGTERM for 10s; killing it" >&2
	kill -s KILL -- "-$pgid" 2>/dev/null || true
}

cmd_stop() {
	local i name pid data tmp
	if [[ ! -d $STATE ]]; then
		rm -f "$ENV_FILE"
		log "no engines recorded; nothing to stop"
		return 0
	fi
	for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do
		name=${SERVERS[i]}
		[[ -f $STATE/$name.pid ]] || continue
		pid=$(<"$STATE/$name.pid")
		if [[ $name == firestore ]]; then
			# Its leader may be gone while Java still runs.
			if group_alive "$pid" && group_ours "$name" "$pid"; then
				stop_group "$name" "$pid"
				log "$name: stopped (process group $pid)"
			fi
		elif alive "$pid" && ours "$name" "$pid"; then
			data=""
			[[ $name != postgres ]] || data=$(cat "$STATE/postgres.data" 2>/dev/null || true)
			if [[ -n $data && -d $data ]]; then
				(cd / && as_postgres "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null) ||
					stop_pid "$name" "$pid"
			else
				stop_pid "$name" "$pid"
			fi
			log "$name: stopped (pid $pid)"
		fi
		rm -f "$STATE/$name.pid" "$STATE/$name.addr"
	done
	if [[ -f $STATE/tmpdir ]]; then
		tmp=$(<"$STATE/tmpdir")
		[[ $tmp != */coffer-engines.* ]] || rm -rf "$tmp"
	fi
	rm -rf "$STATE"
	rm -f "$ENV_FILE"
}

# ---------------------------------------------------------------- status

cmd_status() {
	local name pid up=0
	for name in "${SERVERS[@]}"; do
		if [[ ! -f $STATE/$name.pid ]]; then
			printf '%-16s not started\n' "$name"
		elif pid=$(<"$STATE/$name.pid") && { alive "$pid" || { [[ $name == firestore ]] && group_alive "$pid"; }; }; then
			printf '%-16s running  pid %-7s %s\n' "$name" "$pid" "$(<"$STATE/$name.addr")"
			up=$((up + 1))
		else
			printf '%-16s exited   pid %-7s %s\n' "$name" "$pid" "$(<"$STATE/$name.addr")"
		fi
	done
	if [[ -f $ENV_FILE ]]; then echo ".engines.env     present"; else echo ".engines.env     absent"; fi
	((up == ${#SERVERS[@]}))
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: bash scripts/engines.sh install|start|stop|status" >&2
	exit 2
	;;
esac
