"""Thin spark-submit entry points that wire pipeline/ into Spark."""
