#!/usr/bin/env bash
# Creates (or brings up to date) the two Python environments of Matchday Desk:
#   .venv-rasa  Python 3.10: Rasa Open Source 3.6 and its pins (requirements/rasa.lock)
#   .venv       Python 3.11: gateway, actions, engine, tests   (requirements/app.lock)
# Re-running when nothing changed takes about a second: each environment keeps a
# stamp of the lock file and interpreter it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {  # find_python 3.10 -> path of an interpreter of that minor version
  local want=$1 cand prefix
  for cand in "python$want" python3 python; do
    if command -v "$cand" >/dev/null 2>&1 &&
       [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      command -v "$cand"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}\.[0-9]+$" | sort -t. -k3 -n -r); do
      prefix=$(pyenv prefix "$v" 2>/dev/null) && [ -x "$prefix/bin/python$want" ] && { echo "$prefix/bin/python$want"; return 0; }
    done
  fi
  return 1
}

PY310=$(find_python 3.10) || die "Python 3.10 is required for Rasa 3.6 and was not found on PATH or through pyenv.
Install it, for example: 'apt-get install python3.10 python3.10-venv' or 'pyenv install 3.10.13', then run this again."
PY311=$(find_python 3.11) || die "Python 3.11 is required for the gateway and was not found on PATH or through pyenv.
Install it, for example: 'apt-get install python3.11 python3.11-venv' or 'pyenv install 3.11.7', then run this again."

LOG=var/log/setup.log
mkdir -p var/log
quiet() {  # quiet CMD...: run with output to the set-up log; on failure show its tail and stop
  "$@" >>"$LOG" 2>&1 || { grep -v 'is ignored' "$LOG" | tail -25 >&2; die "failed: $* (full log: $LOG)"; }
}

stamp_of() {  # stamp_of PYTHON FILE... -> hash of interpreter version and the files
  { "$1" -c 'import sys; print(sys.version)'; shift; cat "$@"; } | sha256sum | cut -d' ' -f1
}

make_env() {  # make_env DIR PYTHON LOCK [extra stamp files...]
  local dir=$1 py=$2 lock=$3; shift 3
  local stamp; stamp=$(stamp_of "$py" "$lock" "$@")
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    say "$dir is up to date"; return 0
  fi
  say "building $dir with $("$py" --version) from $lock (first time: a few minutes)"
  [ -x "$dir/bin/python" ] || quiet "$py" -m venv "$dir"
  quiet "$dir/bin/python" -m pip install --disable-pip-version-check --upgrade 'pip>=24'
  if [ "$dir" = .venv ]; then
    # The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
    quiet "$dir/bin/pip" install --disable-pip-version-check -r requirements/torch.txt
  fi
  quiet "$dir/bin/pip" install --disable-pip-version-check --no-deps -r "$lock"
  "$dir/bin/pip" check >/dev/null || { "$dir/bin/pip" check; die "$dir has broken requirements"; }
  echo "$stamp" > "$dir/.stamp"
}

make_env .venv-rasa "$PY310" requirements/rasa.lock
make_env .venv "$PY311" requirements/app.lock requirements/torch.txt
if [ ! -x .venv/bin/desk ] || [ pyproject.toml -nt .venv/.desk-installed ]; then
  say "installing the desk command into .venv"
  quiet .venv/bin/pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
  touch .venv/.desk-installed
fi
say "environments ready"
