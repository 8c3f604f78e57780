"""Run-time cut-over of a boundary behind the seam: flags changed while running, the report (ADR 0029)."""
