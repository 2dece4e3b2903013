#!/usr/bin/env bash
# install-system-deps.sh - install the Debian/Ubuntu system packages that
# gpuwiz's integration tests use.  Every test that needs one of these skips
# when it is absent, so this script only widens what CI actually exercises:
#
#   containerd    `containerd --config FILE config dump` (containerd backend tests)
#   tmux          drives the Textual TUI in a real terminal (send-keys/capture-pane)
#   librsvg2-bin  rsvg-convert: renders SVG screenshots/snapshots to PNG
#   sudo          the non-root tests: a user the test creates runs gpuwiz's root steps through sudo
#   zsh, fish     `gpuwiz completion zsh|fish` is loaded by the real shells
#   prometheus    a real Prometheus scrapes two `gpuwiz exporter`s on loopback (its own config, data
#                 dir and port; the package's own service is not used)
#   libnvidia-ml1 the real NVML library, libnvidia-ml.so.1 (Debian only, from
#                 the non-free component; its dependency glx-alternative-nvidia
#                 lives in contrib, so both are enabled).  No kernel module or
#                 firmware is pulled in; NVML just loads (nvmlInit fails without
#                 a driver, which is what the tests expect on a GPU-less box).
#   containerd 2.x, dockerd 26  not installed: Debian sid's containerd and trixie's
#                 docker.io .debs are downloaded with private apt lists and unpacked
#                 to /opt/gpuwiz-ci/{containerd2,dockerd}, so the config editors'
#                 output is also judged by containerd 2 (`config dump`) and by
#                 `dockerd --validate`.  Debian only.
#
# contrib + non-free are enabled through a private list,
# /etc/apt/sources.list.d/gpuwiz-ci-nonfree.sources, that copies the mirror,
# suites and keyring of the system's existing Debian entries and adds only the
# components they lack.  Nothing else in the apt configuration is touched.
#
# Idempotent: when everything is already present it runs no apt command at all.
# Runs as root (CI) or through `sudo -n`; skips with exit 0 on systems without
# apt-get.  libnvidia-ml1 being unavailable is a warning, never a failure.
set -euo pipefail

START_SECONDS=$SECONDS
log()  { printf '[install-system-deps] %s\n' "$*"; }
warn() { printf '[install-system-deps] WARNING: %s\n' "$*" >&2; }
done_msg() { log "done in $((SECONDS - START_SECONDS))s"; }

PRIVATE_LIST=/etc/apt/sources.list.d/gpuwiz-ci-nonfree.sources
NVML_PKG=libnvidia-ml1

# --- platform checks -------------------------------------------------------
if [[ ! -r /etc/os-release ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "no /etc/os-release or no apt-get: not a Debian/Ubuntu system, skipping"
    exit 0
fi
# shellcheck disable=SC1091
OS_ID=$(. /etc/os-release && printf '%s' "${ID:-}")
OS_LIKE=$(. /etc/os-release && printf '%s' "${ID_LIKE:-}")
CODENAME=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
case " $OS_ID $OS_LIKE " in
    *" debian "*|*" ubuntu "*) ;;
    *) log "OS '$OS_ID' is not Debian/Ubuntu, skipping"; exit 0 ;;
esac

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        log "not root and no password-less sudo: skipping (tests needing these packages will skip)"
        exit 0
    fi
fi
as_root() { ${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive "$@"; }

APT_OPTS=(-y -q --no-install-recommends
          -o DPkg::Lock::Timeout=300
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# --- what is missing? -------------------------------------------------------
# Decided by the tool/library being usable, not by package name, so a
# containerd or NVML that came from elsewhere (docker's containerd.io, an
# NVIDIA driver install) is left alone instead of fought with.
ldconfig_bin() { command -v ldconfig 2>/dev/null || echo /sbin/ldconfig; }
have_nvml() { "$(ldconfig_bin)" -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1 '; }

missing=()
command -v containerd   >/dev/null 2>&1 || missing+=(containerd)
command -v tmux         >/dev/null 2>&1 || missing+=(tmux)
command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
command -v sudo         >/dev/null 2>&1 || missing+=(sudo)
command -v zsh          >/dev/null 2>&1 || missing+=(zsh)
command -v fish         >/dev/null 2>&1 || missing+=(fish)
command -v prometheus   >/dev/null 2>&1 || missing+=(prometheus)

want_nvml=0
if [[ $OS_ID == debian ]]; then
    have_nvml || want_nvml=1
else
    log "$NVML_PKG is a Debian package; not installing NVML on '$OS_ID' (NVML tests will skip)"
fi

show_versions() {
    local p v
    for p in containerd tmux librsvg2-bin "$NVML_PKG"; do
        v=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null \
            | awk '$3=="installed"{print $4}') || true
        log "  $p ${v:-(not installed as a package)}"
    done
    if have_nvml; then
        log "  $("$(ldconfig_bin)" -p | grep -m1 'libnvidia-ml\.so\.1 ' | sed 's/^[[:space:]]*//')"
    fi
}

# --- newer daemons, unpacked beside the system (Debian only) ----------------
# fetch_deb SUITE PACKAGE DIR: download PACKAGE from Debian SUITE with private apt lists and
# unpack it into DIR (nothing is installed).  Used for containerd 2.x (sid) and dockerd 26
# (trixie, `dockerd --validate`), which judge the config editors' output.
fetch_deb() {
    local suite=$1 package=$2 dir=$3 probe=$4
    [[ $OS_ID == debian ]] || return 0
    if [[ -x $dir/$probe ]]; then
        log "$package ($suite): present in $dir"
        return 0
    fi
    local work keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [[ -r $keyring ]] || { warn "no $keyring: the $package tests will skip"; return 0; }
    work=$(mktemp -d)
    mkdir -p "$work/lists/partial" "$work/archives/partial"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
        "$suite" "$keyring" >"$work/src.sources"
    local opts=(-o "Dir::Etc::SourceList=$work/src.sources" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives"
                -o APT::Sandbox::User=root)
    if apt-get -q "${opts[@]}" update >/dev/null 2>&1 \
        && (cd "$work" && apt-get -q "${opts[@]}" download "$package" >/dev/null 2>&1); then
        ${SUDO[@]+"${SUDO[@]}"} mkdir -p "$dir"
        ${SUDO[@]+"${SUDO[@]}"} dpkg-deb -x "$work/${package}"_*.deb "$dir"
        log "$package ($suite): unpacked to $dir"
    else
        warn "could not download $package from Debian $suite; its tests will skip"
    fi
    rm -rf "$work"
}
fetch_deb sid containerd /opt/gpuwiz-ci/containerd2 usr/bin/containerd
fetch_deb trixie docker.io /opt/gpuwiz-ci/dockerd usr/sbin/dockerd

if [[ ${#missing[@]} -eq 0 && $want_nvml -eq 0 ]]; then
    log "all system test dependencies already present, nothing to do"
    show_versions
    done_msg
    exit 0
fi

# --- private contrib/non-free list (Debian only) ----------------------------
# Print "uri<TAB>suite<TAB>components<TAB>signed-by" for every enabled `deb`
# entry of the one-line (*.list) and deb822 (*.sources) files.
scan_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        awk -v OFS='\t' '
            { sub(/#.*/, "") }
            NF == 0 || $1 != "deb" { next }
            {
                opts = ""; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) { opts = opts " " $i; if ($(i) ~ /\]$/) { i++; break }; i++ }
                }
                uri = $i; suite = $(i + 1); comps = ""
                for (k = i + 2; k <= NF; k++) comps = comps (comps == "" ? "" : " ") $k
                signed = ""
                if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
                print uri, suite, comps, signed
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f && $f != "$PRIVATE_LIST" ]] || continue
        awk -v OFS='\t' '
            function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
            function flush(   i, j, nu, ns, u, s) {
                if ((" " types " ") ~ / deb / && tolower(enabled) != "no") {
                    nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        if (u[i] != "" && s[j] != "") print u[i], s[j], trim(comps), signed
                }
                types = uris = suites = comps = signed = enabled = key = ""
            }
            /^#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ {                      # continuation line
                v = trim($0)
                if (key == "signed-by") signed = ""   # inline key block: cannot copy, drop
                else if (key == "uris") uris = uris " " v
                else if (key == "suites") suites = suites " " v
                else if (key == "components") comps = comps " " v
                else if (key == "types") types = types " " v
                next
            }
            {
                key = tolower(trim(substr($0, 1, index($0, ":") - 1)))
                v = trim(substr($0, index($0, ":") + 1))
                if (key == "types") types = v
                else if (key == "uris") uris = v
                else if (key == "suites") suites = v
                else if (key == "components") comps = v
                else if (key == "signed-by") signed = v
                else if (key == "enabled") enabled = v
            }
            END { flush() }' "$f"
    done
}

# Is suite $2 the running Debian release (or its -updates / -security)?
# $1=strict: by codename only; loose: also the stable/testing/sid aliases
# (used only when no entry names the codename, e.g. on sid).
release_suite() {
    local base=${2%/updates}
    base=${base%-updates}; base=${base%-security}
    [[ -n $CODENAME && $base == "$CODENAME" ]] && return 0
    if [[ $1 == loose ]]; then
        case $base in stable|oldstable|testing|unstable|sid) return 0 ;; esac
    fi
    return 1
}

# Build the private list: per (mirror, suite) of the release, add only the
# components of {contrib, non-free} that no existing entry already enables.
write_private_list() {
    local -A comps_of=() signed_of=()
    local -a order=()
    local uri suite comps signed key mode=strict
    local entries
    entries=$(scan_sources)
    while IFS=$'\t' read -r uri suite comps signed; do
        release_suite strict "$suite" && { mode=strict; break; }
        mode=loose
    done <<<"$entries"
    while IFS=$'\t' read -r uri suite comps signed; do
        [[ -n $uri ]] || continue
        release_suite "$mode" "$suite" || continue
        key="$uri"$'\t'"$suite"
        if [[ -z ${comps_of[$key]+set} ]]; then
            order+=("$key"); comps_of[$key]=""; signed_of[$key]="$signed"
        fi
        comps_of[$key]+=" $comps "
        [[ -n ${signed_of[$key]} ]] || signed_of[$key]="$signed"
    done <<<"$entries"

    if [[ ${#order[@]} -eq 0 ]]; then
        warn "found no apt entry for Debian release '${CODENAME:-?}'; cannot enable non-free"
        return 1
    fi

    local content="" add c
    for key in "${order[@]}"; do
        [[ ${comps_of[$key]} == *" main "* ]] || continue   # only the Debian archive itself
        add=""
        for c in contrib non-free; do
            [[ ${comps_of[$key]} == *" $c "* ]] || add+="${add:+ }$c"
        done
        [[ -n $add ]] || continue
        uri=${key%%$'\t'*}; suite=${key#*$'\t'}
        content+="Types: deb"$'\n'"URIs: $uri"$'\n'"Suites: $suite"$'\n'"Components: $add"$'\n'
        [[ -z ${signed_of[$key]} ]] || content+="Signed-By: ${signed_of[$key]}"$'\n'
        content+=$'\n'
    done

    if [[ -z $content ]]; then
        log "contrib and non-free already enabled by the system's apt sources"
        if [[ -e $PRIVATE_LIST ]]; then ${SUDO[@]+"${SUDO[@]}"} rm -f "$PRIVATE_LIST"; fi
        return 0
    fi
    content="# Written by gpuwiz .ci/install-system-deps.sh: contrib/non-free for libnvidia-ml1."$'\n'"$content"
    if [[ -r $PRIVATE_LIST && "$(cat "$PRIVATE_LIST"; echo x)" == "${content}x" ]]; then
        return 0
    fi
    log "writing $PRIVATE_LIST:"
    printf '%s' "$content" | sed 's/^/    /'
    printf '%s' "$content" | ${SUDO[@]+"${SUDO[@]}"} tee "$PRIVATE_LIST" >/dev/null
}

if [[ $want_nvml -eq 1 ]]; then
    write_private_list || want_nvml=2   # 2: wanted but not installable
fi

# --- install ----------------------------------------------------------------
log "running apt-get update"
as_root apt-get update -q -o DPkg::Lock::Timeout=300 \
    || warn "apt-get update reported errors; trying to install anyway"

if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing: ${missing[*]}"
    as_root apt-get install "${APT_OPTS[@]}" "${missing[@]}"
fi

if [[ $want_nvml -ge 1 ]]; then
    candidate=$(apt-cache policy "$NVML_PKG" 2>/dev/null | awk '/Candidate:/{print $2}')
    if [[ -z $candidate || $candidate == "(none)" ]]; then
        warn "$NVML_PKG is not available for ${OS_ID} ${CODENAME:-?}; NVML tests will skip"
    else
        log "installing: $NVML_PKG $candidate (non-free)"
        if as_root apt-get install "${APT_OPTS[@]}" "$NVML_PKG"; then
            if ! have_nvml; then
                warn "$NVML_PKG installed but libnvidia-ml.so.1 is not in the ldconfig cache"
            elif command -v python3 >/dev/null 2>&1 \
                && ! python3 -c "import ctypes; ctypes.CDLL('libnvidia-ml.so.1')" 2>/dev/null; then
                warn "libnvidia-ml.so.1 is installed but python3 ctypes cannot load it"
            fi
        else
            warn "installing $NVML_PKG failed; NVML tests will skip"
        fi
    fi
fi

log "installed versions:"
show_versions
done_msg
