# deploy/airflow/jobads_etl.py without Airflow: the file compiles, it keeps the
# settings the issue asks for, and the command its task runs works, run against
# real stores. tests/integration/airflow/t_airflow_real.sh runs the DAG in Airflow.
source "$(dirname "$0")/lib.sh" "$@"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DAG=$SRC/deploy/airflow/jobads_etl.py

export PYTHONPYCACHEPREFIX=$WORK/pycache # keep the source tree clean
assert_status "the DAG compiles" 0 python3 -m py_compile "$DAG"
# read the DAG's constants and arguments with Python's own parser, not grep
python3 - "$DAG" >"$WORK/dag.txt" <<'PY'
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
consts = {}
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
        for t in node.targets:
            if isinstance(t, ast.Name):
                consts[t.id] = node.value.value
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg in ("catchup", "max_active_runs") and isinstance(kw.value, ast.Constant):
                print(f"{kw.arg}={kw.value.value}")
            if kw.arg == "bash_command" and isinstance(kw.value, ast.Name):
                print(f"command={consts[kw.value.id]}")
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Constant) and k.value == "retries" and isinstance(v, ast.Constant):
                print(f"retries={v.value}")
PY
assert_grep "catchup is off" '^catchup=False$' "$WORK/dag.txt"
assert_grep "one active run at a time" '^max_active_runs=1$' "$WORK/dag.txt"
assert_grep "retries are on" '^retries=[1-9]' "$WORK/dag.txt"
assert_grep "the task runs jobads etl" "^command=\\{\\{ var\\.value\\.get\\('jobads_bin', '[^']*'\\) \\}\\} etl " "$WORK/dag.txt"

# run the task's command as Airflow would, with the jobads_bin Variable rendered
cmd=$(sed -n 's/^command=//p' "$WORK/dag.txt" | sed "s|{{ var.value.get('jobads_bin', '[^']*') }}|$JOBADS|")
assert_status "generate" 0 jobads generate --count 3000 --days 2 --seed 21 --quiet
assert_status "the DAG's command runs" 0 bash -c "$cmd"
assert_eq "it processed every event" "$(events_count)" "$(cursor)"
assert_eq "and recorded a manual run" "manual|success" \
    "$(an_sql "SELECT \`trigger\`, state FROM etl_runs ORDER BY id DESC LIMIT 1")"
assert_verify "after the DAG's command"
finish
