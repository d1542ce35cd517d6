#!/bin/bash
# clawwatch bootstrap: turns a fresh Ubuntu 22.04 / Rocky Linux 9 ECS box into an OpenClaw
# gateway host. Rendered by infra/bootstrap from the clawwatch config; do not edit by hand.
#
# Idempotent: it compares before it writes, skips installs that are already in place and touches
# systemd only when something changed, so running it again changes nothing. It runs as cloud-init
# user_data on first boot, and installs itself as /usr/local/sbin/clawwatch-bootstrap with a
# oneshot unit that re-runs it (--boot) before the gateway on every boot to repair the install.
# A disk that already holds a filesystem is never formatted.
#
# It holds the gateway token, the MaaS key and the bot token: keep every copy root-only (600).
set -euo pipefail

# @SETTINGS@

# Tests point this at a sandbox folder; on a box it is empty and paths are the real ones.
ROOT="${CLAWWATCH_ROOT:-}"
BOOT_MODE=0
if [ "${1:-}" = "--boot" ]; then BOOT_MODE=1; fi
OWNER="$SERVICE_USER:$SERVICE_USER"
CHANGES=0
GATEWAY_CHANGED=0
UNITS_CHANGED=0
FILE_CHANGED=0
UNIT_MASKED=0
umask 022
if [ -z "$ROOT" ]; then
  # cloud-init and systemd may start us without sbin on PATH (useradd, mkfs, blkid).
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
fi

say() { printf 'clawwatch-bootstrap: %s\n' "$*"; }
die() {
  say "error: $*" >&2
  exit 1
}
changed() {
  CHANGES=$((CHANGES + 1))
  say "$*"
}

mkdir -p "$ROOT/run"
exec 9>>"$ROOT/run/clawwatch-bootstrap.lock"
flock -w 1800 9 || die "another clawwatch-bootstrap run still holds $ROOT/run/clawwatch-bootstrap.lock"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# --- files, folders, owners -------------------------------------------------------------

# "mode user:group" of the paths this script manages: read with one stat at the start, then kept
# up to date by every step that changes one (a no-op run costs a single stat).
declare -A ATTRS=()
load_attrs() { # PATH...
  local mode owner path
  while read -r mode owner path; do
    ATTRS[$path]="$mode $owner"
  done < <(stat -c '%a %U:%G %n' "$@" 2>/dev/null || true)
}

ensure_attrs() { # PATH MODE USER:GROUP
  local attrs="${ATTRS[$ROOT$1]:-}" mode owner
  if [ -z "$attrs" ]; then attrs=$(stat -c '%a %U:%G' "$ROOT$1"); fi
  mode=${attrs%% *}
  owner=${attrs#* }
  if [ "$mode" != "$2" ]; then
    chmod "$2" "$ROOT$1"
    changed "set mode $2 on $1"
  fi
  if [ "$owner" != "$3" ]; then
    chown "$3" "$ROOT$1"
    changed "set owner $3 on $1"
  fi
  ATTRS[$ROOT$1]="$2 $3"
}

ensure_dir() { # PATH MODE USER:GROUP
  if [ ! -d "$ROOT$1" ]; then
    if [ ! -d "$ROOT${1%/*}" ]; then mkdir -p "$ROOT${1%/*}"; fi
    mkdir -m "$2" "$ROOT$1"
    ATTRS[$ROOT$1]="$2 root:root"
    changed "created $1"
  fi
  ensure_attrs "$1" "$2" "$3"
}

# put_file PATH MODE USER:GROUP, content on stdin. Writes only when the content differs, through a
# root-only temporary file, so a secret is never readable by anyone else, not even for a moment.
put_file() {
  local target="$ROOT$1"
  cat >"$SCRATCH/next"
  FILE_CHANGED=0
  if [ ! -f "$target" ] || ! cmp -s "$SCRATCH/next" "$target"; then
    (umask 077 && cp "$SCRATCH/next" "$target.clawwatch-new")
    chmod "$2" "$target.clawwatch-new"
    mv -f "$target.clawwatch-new" "$target"
    ATTRS[$target]="$2 root:root" # a new file, made by root
    FILE_CHANGED=1
    changed "wrote $1"
  fi
  ensure_attrs "$1" "$2" "$3"
}

# --- system packages and the service user ----------------------------------------------

detect_package_manager() {
  if command -v apt-get >/dev/null 2>&1; then
    PKG=apt
  elif command -v dnf >/dev/null 2>&1; then
    PKG=dnf
  else
    die "neither apt-get nor dnf found: this script supports Ubuntu 22.04 and Rocky Linux 9"
  fi
}

missing_packages() {
  local wanted=(curl ca-certificates tar gzip git jq) found p
  if [ "$PKG" = apt ]; then
    # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
    found=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null || true)
    for p in "${wanted[@]}"; do
      case $'\n'"$found"$'\n' in
        *$'\n'"$p installed"$'\n'*) ;;
        *) printf '%s\n' "$p" ;;
      esac
    done
  else
    rpm -q --whatprovides "${wanted[@]}" 2>/dev/null | sed -n 's/^no package provides //p' || true
  fi
}

ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then return 0; fi
  if [ "$PKG" = apt ]; then
    # On first boot apt-daily often holds the dpkg lock: wait for it instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}"
  else
    dnf install -y -q "${missing[@]}"
  fi
  changed "installed packages: ${missing[*]}"
}

ensure_user() {
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$HOME_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
    changed "created user $SERVICE_USER"
  fi
}

# --- the data disk ----------------------------------------------------------------------

probe() { # DEVICE -> blkid KEY=VALUE lines; empty for a blank device
  blkid -p -o export "$1" 2>/dev/null || true
}

field() { # PROBE-OUTPUT KEY
  local line
  while IFS= read -r line; do
    if [ "${line%%=*}" = "$2" ]; then printf '%s\n' "${line#*=}"; fi
  done <<<"$1"
}

in_use() { # DEVICE: has partitions, or something (a filesystem, swap) is mounted from it
  lsblk -nlpo NAME,MOUNTPOINT "$1" | awk 'NR > 1 || $2 != "" { used = 1 } END { exit !used }'
}

# Prints the disk to use for $DATA_DIR, or nothing. "auto": our labelled disk first; otherwise the
# only unused extra disk (with a filesystem, or blank). With several candidates it does not guess.
choose_data_device() {
  local dev info type candidates=()
  if [ "$DATA_DEVICE" != auto ]; then
    printf '%s\n' "$DATA_DEVICE"
    return 0
  fi
  while read -r dev; do
    info=$(probe "$dev")
    type=$(field "$info" TYPE)
    if [ -n "$type" ] && [ "$(field "$info" LABEL)" = "$DATA_LABEL" ]; then
      printf '%s\n' "$dev"
      return 0
    fi
    if in_use "$dev"; then continue; fi
    if [ -z "$info" ] || [ "$type" = ext4 ] || [ "$type" = xfs ]; then candidates+=("$dev"); fi
  done < <(lsblk -dnpo NAME,TYPE | awk '$2 == "disk" && $1 !~ /^\/dev\/(zram|ram|loop)/ { print $1 }')
  if [ "${#candidates[@]}" -eq 1 ]; then
    printf '%s\n' "${candidates[0]}"
  elif [ "${#candidates[@]}" -gt 1 ]; then
    say "several unused disks (${candidates[*]}): not guessing; set dataDevice in the clawwatch config" >&2
  fi
}

fstab_with() { # LINE: fstab with LINE as the only entry for $DATA_DIR
  grep -vE "^[^#[:space:]]+[[:space:]]+${DATA_DIR}[[:space:]]" "$ROOT/etc/fstab" 2>/dev/null || true
  printf '%s\n' "$1"
}

ensure_fstab() { # UUID FSTYPE
  local line="UUID=$1 $DATA_DIR $2 defaults,nofail,x-systemd.device-timeout=30s 0 2"
  if grep -qxF "$line" "$ROOT/etc/fstab" 2>/dev/null; then return 0; fi
  put_file /etc/fstab 644 root:root < <(fstab_with "$line")
  UNITS_CHANGED=1 # systemd generates mount units from fstab
}

ensure_data_disk() {
  local dev info type uuid
  if mountpoint -q "$ROOT$DATA_DIR"; then return 0; fi
  if [ "$DATA_DEVICE" = none ]; then
    say "no data disk configured: $WORKSPACE_DIR is on the system disk and is lost on reinstall"
    return 0
  fi
  dev=$(choose_data_device)
  if [ -z "$dev" ]; then
    say "no data disk found: $WORKSPACE_DIR is on the system disk and is lost on reinstall"
    return 0
  fi
  # Whatever named it (the config, lsblk), only a block device is ever probed or formatted.
  if [ ! -b "$ROOT$dev" ]; then
    die "$dev is not a block device; not touching it. Set dataDevice to the data disk (see lsblk), or \"none\""
  fi
  info=$(probe "$dev")
  if [ -z "$info" ]; then
    # Formatting is the one destructive step: only a disk with no signature at all, no partitions
    # and nothing mounted from it gets a filesystem.
    if in_use "$dev"; then die "$dev has partitions or is mounted; not formatting it"; fi
    mkfs.ext4 -q -L "$DATA_LABEL" "$dev"
    changed "formatted blank disk $dev (ext4, label $DATA_LABEL)"
    info=$(probe "$dev")
  fi
  type=$(field "$info" TYPE)
  uuid=$(field "$info" UUID)
  if [ -z "$uuid" ] || { [ "$type" != ext4 ] && [ "$type" != xfs ]; }; then
    die "$dev holds no ext4/xfs filesystem (found: ${type:-a partition table or other signature}); not touching it. Set dataDevice to the right disk, or \"none\""
  fi
  ensure_dir "$DATA_DIR" 755 root:root
  ensure_fstab "$uuid" "$type"
  mount -t "$type" -o defaults "UUID=$uuid" "$ROOT$DATA_DIR"
  unset "ATTRS[$ROOT$DATA_DIR]" "ATTRS[$ROOT$WORKSPACE_DIR]"
  changed "mounted $dev (UUID $uuid) at $DATA_DIR"
}

# --- Node, npm and openclaw from the npm registry --------------------------------------

node_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64) echo arm64 ;;
    *) die "unsupported CPU architecture $(uname -m): use an x86_64 or arm64 image" ;;
  esac
}

has_version() { # PACKAGE-JSON VERSION
  local json
  if [ ! -f "$1" ]; then return 1; fi
  json=$(<"$1")
  [[ $json == *"\"version\": \"$2\""* ]]
}

fresh_dir() { # DIR: empty, whatever a failed earlier run left there
  if [ -e "$1" ]; then rm -rf "$1"; fi
  mkdir "$1"
}

replace_dir() { # FROM TO
  if [ -e "$2" ]; then rm -rf "$2"; fi
  mv "$1" "$2"
}

# Unpacks the npm registry tarball NAME@VERSION (its package/ folder) into DIR, replacing DIR.
fetch_package() { # NAME VERSION DIR
  local stage="$ROOT$OPT_DIR/.stage-$1-$2"
  fresh_dir "$stage"
  curl -fsSL --retry 5 --retry-delay 3 --retry-all-errors --connect-timeout 20 \
    -o "$stage/package.tgz" "$NPM_REGISTRY/$1/-/$1-$2.tgz"
  tar -xzf "$stage/package.tgz" -C "$stage" --no-same-owner
  replace_dir "$stage/package" "$ROOT$3"
  rm -rf "$stage"
}

node_ok() {
  [ -x "$ROOT$NODE_DIR/bin/node" ] && [ "$("$ROOT$NODE_DIR/bin/node" --version 2>/dev/null || true)" = "v$NODE_VERSION" ]
}

ensure_node() {
  if node_ok; then return 0; fi
  fetch_package "node-linux-$(node_arch)" "$NODE_VERSION" "$NODE_DIR"
  node_ok || die "Node $NODE_VERSION does not run from $NODE_DIR; check the image's CPU type and $NPM_REGISTRY"
  GATEWAY_CHANGED=1
  changed "installed Node $NODE_VERSION in $NODE_DIR"
}

ensure_npm() {
  if has_version "$ROOT$NPM_DIR/package.json" "$NPM_VERSION"; then return 0; fi
  fetch_package npm "$NPM_VERSION" "$NPM_DIR"
  changed "installed npm $NPM_VERSION in $NPM_DIR"
}

openclaw_ok() {
  [ -f "$ROOT$APP_DIR/.clawwatch-installed" ] &&
    [ -f "$ROOT$APP_DIR/node_modules/openclaw/openclaw.mjs" ] &&
    has_version "$ROOT$APP_DIR/node_modules/openclaw/package.json" "$OPENCLAW_VERSION"
}

# npm runs as the service user (install scripts never run as root); the result is then handed to
# root so the gateway cannot modify its own code.
ensure_openclaw() {
  local stage="$ROOT$OPT_DIR/.stage-openclaw-$OPENCLAW_VERSION"
  if openclaw_ok; then return 0; fi
  fresh_dir "$stage"
  printf '{"name":"clawwatch-gateway","private":true}\n' >"$stage/package.json"
  chown "$OWNER" "$stage" "$stage/package.json"
  (
    cd "$stage"
    runuser -u "$SERVICE_USER" -- env HOME="$ROOT$HOME_DIR" PATH="$ROOT$NODE_DIR/bin:/usr/bin:/bin" \
      "$ROOT$NODE_DIR/bin/node" "$ROOT$NPM_DIR/bin/npm-cli.js" install --no-audit --no-fund \
      --no-update-notifier --omit=dev --cache "$stage/.npm-cache" --registry "$NPM_REGISTRY" \
      "openclaw@$OPENCLAW_VERSION"
  )
  if [ -e "$stage/.npm-cache" ]; then rm -rf "$stage/.npm-cache"; fi
  chown -R root:root "$stage"
  printf '%s\n' "$OPENCLAW_VERSION" >"$stage/.clawwatch-installed"
  replace_dir "$stage" "$ROOT$APP_DIR"
  openclaw_ok || die "openclaw $OPENCLAW_VERSION did not install into $APP_DIR; see the npm output above"
  GATEWAY_CHANGED=1
  changed "installed openclaw $OPENCLAW_VERSION in $APP_DIR"
}

# --- openclaw.json ----------------------------------------------------------------------

vpc_address() {
  local addr cidr i
  for ((i = 0; i < 30; i++)); do
    # "2: eth0    inet 192.168.0.12/24 brd ..." -> the first global IPv4 address
    addr=""
    while read -r _ _ _ cidr _; do
      addr=${cidr%%/*}
      break
    done < <(ip -4 -o addr show scope global 2>/dev/null || true)
    if [[ $addr =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
      printf '%s\n' "$addr"
      return 0
    fi
    sleep 2
  done
  die "no IPv4 address on any interface after 60 s; set gateway.bindHost in the clawwatch config"
}

# The rendered openclaw.json; its only variable part is the VPC address, filled in here.
openclaw_json() { # VPC-ADDRESS
  # Only the bind address line: a placeholder anywhere else (render.ts refuses one) stays as is.
  sed "s/\"customBindHost\": \"$VPC_ADDRESS_PLACEHOLDER\"/\"customBindHost\": \"$1\"/" <<'CLAWWATCH_OPENCLAW_JSON'
# @OPENCLAW_JSON@
CLAWWATCH_OPENCLAW_JSON
}

ensure_openclaw_config() {
  local addr="$BIND_HOST"
  if [ -z "$addr" ]; then addr=$(vpc_address); fi
  put_file "$CONFIG_FILE" 600 "$OWNER" < <(openclaw_json "$addr")
  if [ "$FILE_CHANGED" = 1 ]; then GATEWAY_CHANGED=1; fi
}

# --- systemd ----------------------------------------------------------------------------

gateway_unit() {
  cat <<'CLAWWATCH_FILE'
# @GATEWAY_UNIT@
CLAWWATCH_FILE
}

repair_unit() {
  cat <<'CLAWWATCH_FILE'
# @REPAIR_UNIT@
CLAWWATCH_FILE
}

cli_wrapper() {
  cat <<'CLAWWATCH_FILE'
# @CLI_WRAPPER@
CLAWWATCH_FILE
}

install_self() {
  local self_source="${BASH_SOURCE[0]}"
  if [ ! -f "$self_source" ]; then
    say "running from a pipe: the per-boot repair copy is not installed"
    return 0
  fi
  put_file "$SELF" 600 root:root <"$self_source"
}

ensure_units() {
  put_file "$UNIT_DIR/$GATEWAY_UNIT" 644 root:root < <(gateway_unit)
  if [ "$FILE_CHANGED" = 1 ]; then
    UNITS_CHANGED=1
    GATEWAY_CHANGED=1
  fi
  put_file "$UNIT_DIR/$REPAIR_UNIT" 644 root:root < <(repair_unit)
  if [ "$FILE_CHANGED" = 1 ]; then UNITS_CHANGED=1; fi
}

# Rocky images may run firewalld; the security group decides who reaches the port.
ensure_firewall() {
  if ! command -v firewall-cmd >/dev/null 2>&1 || ! firewall-cmd --state >/dev/null 2>&1; then
    return 0
  fi
  if firewall-cmd --query-port="$GATEWAY_PORT/tcp" >/dev/null 2>&1; then return 0; fi
  firewall-cmd --permanent --add-port="$GATEWAY_PORT/tcp" >/dev/null
  firewall-cmd --add-port="$GATEWAY_PORT/tcp" >/dev/null
  changed "opened $GATEWAY_PORT/tcp in firewalld"
}

ensure_enabled() { # UNIT; UNIT_MASKED=1 when an operator masked it (left alone)
  UNIT_MASKED=0
  case "$(systemctl is-enabled "$1" 2>/dev/null || true)" in
    enabled) ;;
    masked) UNIT_MASKED=1 ;;
    *)
      systemctl enable --quiet "$1"
      changed "enabled $1"
      ;;
  esac
}

apply_systemd() {
  if [ "$UNITS_CHANGED" = 1 ]; then
    systemctl daemon-reload
    changed "reloaded systemd"
  fi
  ensure_enabled "$REPAIR_UNIT"
  ensure_enabled "$GATEWAY_UNIT"
  if [ "$UNIT_MASKED" = 1 ]; then
    say "$GATEWAY_UNIT is masked by an operator: not starting it"
    return 0
  fi
  # --no-block: at boot the gateway is ordered after this run, so waiting for it would deadlock.
  if systemctl is-active --quiet "$GATEWAY_UNIT"; then
    if [ "$GATEWAY_CHANGED" = 1 ]; then
      systemctl restart --no-block "$GATEWAY_UNIT"
      changed "restarting $GATEWAY_UNIT"
    fi
  elif [ "$BOOT_MODE" = 0 ]; then
    systemctl start --no-block "$GATEWAY_UNIT"
    changed "starting $GATEWAY_UNIT"
  fi
}

# --- the run ----------------------------------------------------------------------------

main() {
  load_attrs "$ROOT$HOME_DIR" "$ROOT$STATE_DIR" "$ROOT$LOG_DIR" "$ROOT$TMP_DIR" "$ROOT$DATA_DIR" \
    "$ROOT$WORKSPACE_DIR" "$ROOT$OPT_DIR" "$ROOT$CONFIG_FILE" "$ROOT$SELF" "$ROOT$CLI" \
    "$ROOT$UNIT_DIR/$GATEWAY_UNIT" "$ROOT$UNIT_DIR/$REPAIR_UNIT"
  detect_package_manager
  ensure_packages
  ensure_user
  ensure_dir "$HOME_DIR" 750 "$OWNER"
  ensure_dir "$STATE_DIR" 700 "$OWNER"
  ensure_dir "$LOG_DIR" 700 "$OWNER"
  ensure_dir "$TMP_DIR" 700 "$OWNER"
  ensure_data_disk
  ensure_dir "$DATA_DIR" 755 root:root
  ensure_dir "$WORKSPACE_DIR" 750 "$OWNER"
  ensure_dir "$OPT_DIR" 755 root:root
  ensure_node
  ensure_npm
  ensure_openclaw
  ensure_openclaw_config
  install_self
  put_file "$CLI" 755 root:root < <(cli_wrapper)
  ensure_units
  ensure_firewall
  apply_systemd
  if [ "$CHANGES" -eq 0 ]; then
    say "nothing to change (openclaw $OPENCLAW_VERSION, Node $NODE_VERSION)"
  else
    say "done: $CHANGES change(s) (openclaw $OPENCLAW_VERSION, Node $NODE_VERSION)"
  fi
}

main
