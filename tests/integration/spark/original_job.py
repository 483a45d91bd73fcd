#!/usr/bin/env python3
"""The original stack's transform, as a PySpark job: the oracle and the peer jobads replaces.

usage: original_job.py --cassandra HOST:PORT --keyspace KS [--table tracking]
                       --jdbc jdbc:mariadb://HOST:PORT/DB --user USER
                       [--mode full|incremental] [--watermark FILE]

Written from the definitions in ../shared/seed/original-stack-facts.md: it reads
the original's tracking table through the Spark Cassandra Connector, works out
the per-record ratios (ctr = clicks / impressions, cpc = cost / clicks, cpa =
cost / apply_count, roi = apply_count / cost, each 0 on a zero denominator) and
the five summaries (campaign_summary, publisher_summary, industry_summary,
hourly_stats, daily_stats), and writes them to MariaDB through JDBC.

  full         every row of the table; the summary tables are replaced (the
               oracle: what the original computes over all events)
  incremental  the original's run: rows with ts > the watermark in FILE (a full
               scan, ts being a regular column), totals added to the stored
               rows and avg_* overwritten by the batch's (the original's mixed
               semantics), then the watermark saved: a row that arrives with a ts
               at or below it is never read (the original's silent loss)

The password is read from JOBADS_MYSQL_PASSWORD. Jars come from Maven Central
through Spark's own resolver, pinned below, into a cache outside the clone
(JOBADS_IVY_CACHE, default ~/.cache/jobads/ivy). Prints one line of timings.
"""
import argparse
import json
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

PACKAGES = ",".join([
    "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1",
    "org.mariadb.jdbc:mariadb-java-client:3.5.7",
])

# table -> (key columns, the columns added on an incremental run, the ones overwritten)
SUMMARIES = {
    "campaign_summary": (["campaign_id"], ["total_impressions", "total_clicks", "total_applies"],
                         ["avg_ctr", "avg_cpc", "avg_cpa", "avg_roi"]),
    "publisher_summary": (["publisher_id"], ["total_impressions", "total_clicks", "total_applies"],
                          ["publisher_name", "avg_quality_score", "avg_ctr", "avg_cpc", "avg_cpa",
                           "avg_roi"]),
    "industry_summary": (["industry"], ["clicks", "applications"], ["quality"]),
    "hourly_stats": (["hour"], ["impressions", "clicks", "applies"], []),
    "daily_stats": (["day_of_week"], ["clicks", "applies"], []),
}


def ratio(num, den):
    return F.when(F.col(den) != 0, F.col(num).cast("double") / F.col(den)).otherwise(F.lit(0.0))


def summaries(df):
    rec = (df.withColumn("ctr", ratio("clicks", "impressions"))
             .withColumn("cpc", ratio("cost", "clicks"))
             .withColumn("cpa", ratio("cost", "apply_count"))
             .withColumn("roi", ratio("apply_count", "cost")))
    avgs = [F.avg("ctr").alias("avg_ctr"), F.avg("cpc").alias("avg_cpc"),
            F.avg("cpa").alias("avg_cpa"), F.avg("roi").alias("avg_roi")]
    totals = [F.sum("impressions").alias("total_impressions"), F.sum("clicks").alias("total_clicks"),
              F.sum("apply_count").alias("total_applies")]
    return {
        "campaign_summary": rec.groupBy("campaign_id").agg(*totals, *avgs),
        "publisher_summary": rec.groupBy("publisher_id").agg(
            F.first("publisher_name").alias("publisher_name"), *totals,
            F.avg("quality_score").alias("avg_quality_score"), *avgs),
        "industry_summary": rec.groupBy("industry").agg(
            F.sum("clicks").alias("clicks"), F.sum("apply_count").alias("applications"),
            F.avg("quality_score").alias("quality")),
        "hourly_stats": rec.groupBy("hour").agg(
            F.sum("impressions").alias("impressions"), F.sum("clicks").alias("clicks"),
            F.sum("apply_count").alias("applies")),
        "daily_stats": rec.groupBy("day_of_week").agg(
            F.sum("clicks").alias("clicks"), F.sum("apply_count").alias("applies")),
    }


def spark_url(url):
    """The MariaDB URL as jdbc:mysql: for Spark's MySQL dialect (backquoted names), which the
    MariaDB driver takes with permitMysqlScheme."""
    if url.startswith("jdbc:mariadb:"):
        url = "jdbc:mysql:" + url[len("jdbc:mariadb:"):]
    return url + ("&" if "?" in url else "?") + "permitMysqlScheme"


def jdbc_write(df, args, table, mode):
    (df.write.format("jdbc").option("url", spark_url(args.jdbc)).option("dbtable", table)
       .option("user", args.user).option("password", os.environ.get("JOBADS_MYSQL_PASSWORD", ""))
       .option("driver", "org.mariadb.jdbc.Driver").mode(mode).save())


def jdbc_read(spark, args, table):
    try:
        return (spark.read.format("jdbc").option("url", spark_url(args.jdbc)).option("dbtable", table)
                .option("user", args.user)
                .option("password", os.environ.get("JOBADS_MYSQL_PASSWORD", ""))
                .option("driver", "org.mariadb.jdbc.Driver").load())
    except Exception as e:  # py4j wraps the driver's "no such table" in its own error
        if "doesn't exist" in str(e):
            return None
        raise


def merge_batch(spark, args, table, batch):
    """The original's upsert of one batch: totals added to the stored row, the rest overwritten."""
    keys, added, replaced = SUMMARIES[table]
    old = jdbc_read(spark, args, table)
    if old is not None:
        b, o = batch.alias("b"), old.alias("o")
        batch = b.join(o, keys, "full_outer").select(
            *keys,
            *[(F.coalesce(F.col(f"o.{c}"), F.lit(0)) + F.coalesce(F.col(f"b.{c}"), F.lit(0))).alias(c)
              for c in added],
            *[F.coalesce(F.col(f"b.{c}"), F.col(f"o.{c}")).alias(c) for c in replaced])
        # read whole before the table is replaced: the rows are few
        batch = spark.createDataFrame(batch.collect(), batch.schema)
    jdbc_write(batch, args, table, "overwrite")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cassandra", required=True, help="HOST:PORT of a node")
    ap.add_argument("--keyspace", required=True)
    ap.add_argument("--table", default="tracking")
    ap.add_argument("--jdbc", required=True, help="jdbc:mariadb://HOST:PORT/DB")
    ap.add_argument("--user", required=True)
    ap.add_argument("--mode", choices=["full", "incremental"], default="full")
    ap.add_argument("--watermark", help="the JSON file of the original's last_ts (incremental)")
    args = ap.parse_args()
    if args.mode == "incremental" and not args.watermark:
        ap.error("--mode incremental needs --watermark FILE")
    host, _, port = args.cassandra.rpartition(":")
    ivy = os.environ.get("JOBADS_IVY_CACHE",
                         os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                      "jobads", "ivy"))
    t0 = time.monotonic()
    spark = (SparkSession.builder.master("local[2]").appName("job_ads_etl")
             .config("spark.jars.packages", PACKAGES).config("spark.jars.ivy", ivy)
             .config("spark.cassandra.connection.host", host)
             .config("spark.cassandra.connection.port", port)
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    t1 = time.monotonic()
    df = (spark.read.format("org.apache.spark.sql.cassandra")
          .options(keyspace=args.keyspace, table=args.table).load())
    last_ts = None
    if args.mode == "incremental" and os.path.exists(args.watermark):
        with open(args.watermark) as f:
            last_ts = json.load(f)["last_ts_ms"]
    if last_ts is not None:
        df = df.filter(F.col("ts") > F.lit(last_ts / 1000.0).cast("timestamp"))
    df = df.cache()
    rows = df.count()
    newest = df.agg(F.max("ts")).first()[0]
    for table, out in summaries(df).items():
        if args.mode == "full":
            jdbc_write(out, args, table, "overwrite")
        else:
            merge_batch(spark, args, table, out)
    t2 = time.monotonic()
    if args.mode == "incremental" and newest is not None:
        with open(args.watermark, "w") as f:
            json.dump({"last_ts_ms": int(newest.timestamp() * 1000)}, f)
    print(f"original_job: {args.mode}: {rows} rows read;"
          f" start {t1 - t0:.2f} s, job {t2 - t1:.2f} s", flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
