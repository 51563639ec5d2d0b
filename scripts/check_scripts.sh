#!/usr/bin/env bash
# check_scripts.sh — the run bits of scripts/ and .ci/run agree with their first lines: a file that is
# executable starts with "#!/usr/bin/env <interpreter>", and a file that starts with "#!" is executable.
# Modules and sourced files (plot_common.py, data_env.sh) are neither. Run by CTest (ScriptRunBits).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
for f in scripts/* .ci/run; do
  [ -f "$f" ] || continue
  first=$(head -n 1 "$f")
  if [ -x "$f" ] && [[ $first != '#!/usr/bin/env '* ]]; then
    echo "$f: executable, but its first line is not a '#!/usr/bin/env …' shebang: $first" >&2
    bad=1
  fi
  if [ ! -x "$f" ] && [[ $first == '#!'* ]]; then
    echo "$f: has a shebang but is not executable (chmod +x, or drop the shebang if it is sourced/imported)" >&2
    bad=1
  fi
done
exit $bad
