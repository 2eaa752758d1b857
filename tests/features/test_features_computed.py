"""``features.engines.computed`` (issue 17): a part of a feature plan run on its own gives the
rows the lazy plan gives, and later queries read the in-memory result, not the source again."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.engines import computed, connect


def test_a_computed_part_has_the_rows_of_the_lazy_part_and_no_longer_reads_its_source(tmp_path):
    path = tmp_path / "loans.parquet"
    frame = pd.DataFrame({"loan_id": ["L3", "L1", "L2", "L1"], "amount": [30.0, 10.0, 20.0, 5.0]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    con = connect("duckdb")
    loans = con.read_parquet(str(path), table_name="loans")
    part = loans.group_by("loan_id").aggregate(total=loans.amount.sum(), n=loans.count())
    lazy = con.execute(part).sort_values("loan_id").reset_index(drop=True)
    done = computed(part)
    path.unlink()  # the computed part no longer needs the file
    joined = con.execute(done.join(done.select("loan_id", twice=done.total * 2), "loan_id"))
    got = joined.sort_values("loan_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["loan_id", "total", "n"]], lazy)
    assert got["twice"].tolist() == [30.0, 40.0, 60.0]
