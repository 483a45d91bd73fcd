"""Airflow DAG for teams that keep Airflow: run `jobads etl` on a schedule.

jobads counts every event exactly once by itself (the cursor moves with the
deltas) and takes its own run lock in the analytics store, so Airflow's
retries and a `jobads schedule` process running beside it cannot double-count.
A run that finds the lock held exits 3; Airflow retries it later.

Settings come from Airflow Variables when set, else these defaults; they are
read when a task runs (templates), not each time the scheduler parses this file:
  jobads_bin        path to the jobads binary
  jobads_events     event store URL (JOBADS_EVENTS)
  jobads_analytics  analytics store URL (JOBADS_ANALYTICS)
A MySQL password belongs in the environment of the worker
(JOBADS_MYSQL_PASSWORD), never in a URL stored here.

Runs on Airflow 2.9+ and 3.x (tests/integration/airflow/ runs it on both).
JOBADS_AIRFLOW_RETRY_DELAY (seconds, default 30) in the environment of the
process that parses this file shortens the first retry for tests.
"""
import os
from datetime import datetime, timedelta

try:  # Airflow 3: the DAG class in the task SDK, BashOperator in the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

# The command each run executes; tests/integration/t_airflow.sh runs it without
# Airflow, tests/integration/airflow/t_airflow_real.sh through Airflow.
ETL_COMMAND = "{{ var.value.get('jobads_bin', '/usr/local/bin/jobads') }} etl --quiet"
ETL_ENV = {
    "JOBADS_EVENTS": "{{ var.value.get('jobads_events', 'sqlite:/var/lib/jobads/events.db') }}",
    "JOBADS_ANALYTICS": "{{ var.value.get('jobads_analytics', 'sqlite:/var/lib/jobads/analytics.db') }}",
}

default_args = {
    "owner": "data-eng",
    "retries": 3,
    "retry_delay": timedelta(seconds=float(os.environ.get("JOBADS_AIRFLOW_RETRY_DELAY", "30"))),
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
        env=ETL_ENV,
        append_env=True,
    )
