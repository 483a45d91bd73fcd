"""Airflow DAG for teams that keep Airflow: run `jobads etl` on a schedule.

jobads counts every event exactly once by itself (the cursor moves with the
deltas) and takes its own run lock in the analytics store, so Airflow's
retries and a `jobads schedule` process running beside it cannot double-count.
A run that finds the lock held exits 3; Airflow retries it later.

Settings come from Airflow Variables when set, else these defaults:
  jobads_bin        path to the jobads binary
  jobads_events     event store URL (JOBADS_EVENTS)
  jobads_analytics  analytics store URL (JOBADS_ANALYTICS)
A MySQL password belongs in the environment of the worker
(JOBADS_MYSQL_PASSWORD), never in a URL stored here.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

JOBADS_BIN = Variable.get("jobads_bin", default_var="/usr/local/bin/jobads")
JOBADS_EVENTS = Variable.get("jobads_events", default_var="sqlite:/var/lib/jobads/events.db")
JOBADS_ANALYTICS = Variable.get(
    "jobads_analytics", default_var="sqlite:/var/lib/jobads/analytics.db"
)

# The command each run executes; tests/integration/t_airflow.sh runs it for real.
ETL_COMMAND = "{{ params.jobads_bin }} etl --quiet"

default_args = {
    "owner": "data-eng",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
}

with DAG(
    dag_id="jobads_etl",
    description="Incremental, exactly-once ETL of job-ad tracking events (jobads)",
    start_date=datetime(2026, 1, 1),
    schedule=timedelta(minutes=5),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["jobads"],
) as dag:
    etl = BashOperator(
        task_id="jobads_etl",
        bash_command=ETL_COMMAND,
        params={"jobads_bin": JOBADS_BIN},
        env={"JOBADS_EVENTS": JOBADS_EVENTS, "JOBADS_ANALYTICS": JOBADS_ANALYTICS},
        append_env=True,
    )
