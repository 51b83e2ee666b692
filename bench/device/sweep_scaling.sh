#!/usr/bin/env bash
# Sweep scaling on a many-core device machine (issue 16): the project's dependencies come
# as Python 3.12 wheels in .whl/ (PostgreSQL 16's binaries from the `pgserver` wheel), and
# two package trees run the same bench script alternately: the working tree ("new") and,
# in .abold/, the commit it is compared with ("old"). Results go to $OUT. Made here first
# (both ignored through .git/info/exclude, both named in the device call's `carry`):
#   .whl/    pip download --no-deps --only-binary=:all: --python-version 3.12 ... (the
#            packages the device lacks: optuna, SQLAlchemy, alembic, psycopg[binary], dask,
#            distributed, tornado, orjson, ..., and pgserver)
#   .abold/  git archive OLD jupyter_xtrack | tar -x -C .abold, with this bench script,
#            tests/__init__.py and tests/pgserver.py copied beside it
#   bash bench/device/sweep_scaling.sh [ROUNDS]
# (PY, WORKERS, LONG, SCALE=1 (--scale-long) and ORDER ("new old") change the interpreter, the worker counts and the long sweep's
# trials; SKIP_INSTALL=1 uses the interpreter's own packages, to try the script here.)
set -u
rounds=${1:-2}
out=${OUT:-/tmp/out}
py=${PY:-python3}
mkdir -p "$out"
if [ -z "${SKIP_INSTALL:-}" ]; then
    $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
export PATH="/tmp/site/pgserver/pginstall/bin:$PATH"
id -u postgres >/dev/null 2>&1 || useradd -r -M -s /bin/false postgres \
    || echo 'postgres:x:990:990::/tmp:/bin/false' >> /etc/passwd
getent group postgres >/dev/null || echo 'postgres:x:990:' >> /etc/group
chmod -R a+rX /tmp/site/pgserver 2>/dev/null
{ nproc; $py --version; uptime; git log --oneline -1 2>/dev/null; } > "$out/machine.txt"
for round in $(seq 1 "$rounds"); do
    for code in ${ORDER:-new old}; do
        root=$PWD
        [ "$code" = old ] && root=$PWD/.abold
        echo "== round $round, $code, $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" \
            | tee -a "$out/sweep.txt"
        (cd "$root" && PYTHONPATH="$root:/tmp/site" $py bench/bench_sweep_workers.py \
            --reps 3 --short 10 --long "${LONG:-120}" ${SCALE:+--scale-long} --workers ${WORKERS:-1 2 4 8} \
            --storages postgres-records \
            2>"$out/err-$round-$code.txt" | tee -a "$out/sweep.txt")
    done
done
