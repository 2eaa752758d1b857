"""fuel_tax features on a hand-made pool: values by hand, point in time, keys, missing sources."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from fuel_world import AS_OF, S1, S2, S3, _write

from features import registry
from features.build import build_features, read_features, write_features
from features.sources import SourceError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = _write(tmp_path_factory.mktemp("fuel"))
    return build_features("fuel_tax", AS_OF, root)


def test_hand_computed_values(built):
    f = built.frame.set_index("entity_id")
    assert list(f.index) == sorted([S1, S2, S3])  # the depot is not a station
    s1, s2, s3 = f.loc[S1], f.loc[S2], f.loc[S3]
    assert s1["declared_to_delivered"] == pytest.approx(0.6)
    assert s2["declared_to_delivered"] == pytest.approx(1.0)  # amendment replaced the 5000
    assert s3["declared_to_delivered"] == pytest.approx(1.0)  # found by name, code broken
    # Chaoyang median of (0.6, 1.0) is 0.8
    assert s1["declared_to_delivered_vs_district"] == pytest.approx(0.75)
    assert s2["declared_to_delivered_vs_district"] == pytest.approx(1.25)
    assert (s1["months_under_declared"], s2["months_under_declared"]) == (1.0, 0.0)
    assert s1["declared_to_invoiced"] == pytest.approx(0.6)
    assert s2["declared_to_invoiced"] == pytest.approx(1.25)  # 10000 / 8000 oil-named
    assert s2["nonoil_invoice_share"] == pytest.approx(0.2)
    assert s2["invoiced_to_delivered"] == pytest.approx(1.0)
    assert s1["consumption_tax_to_declared"] == pytest.approx(1.0)
    assert s1["consumption_tax_to_delivered"] == pytest.approx(0.6)
    assert s1["declared_per_vehicle"] == pytest.approx(6.0)
    assert s2["declared_per_vehicle"] == pytest.approx(5.0)
    assert np.isnan(s3["declared_per_vehicle"])  # no camera at S3
    assert s1["declared_per_vehicle_vs_district"] == pytest.approx(6.0 / 5.5)
    # declared litres per nozzle-month: S1 1500, S2 2500 (size class <=4: median 2000)
    assert s1["throughput_vs_size_class"] == pytest.approx(0.75)
    assert s3["throughput_vs_size_class"] == pytest.approx(1.0)
    # the depot serves S1 and S2; S1 is below 85% of its district median, S2 is not.
    # S3's supplier serves no other station: no share.
    assert s1["supplier_suspicious_share"] == pytest.approx(0.0)
    assert s2["supplier_suspicious_share"] == pytest.approx(1.0)
    assert np.isnan(s3["supplier_suspicious_share"])
    assert (s1["missing_filing_months"], s2["missing_filing_months"]) == (0.0, 1.0)
    assert s2["late_filing_share"] == pytest.approx(1 / 11)
    assert s3["nozzles"] == 8.0


def test_labels_as_known_on_the_date(built):
    labels = built.frame.set_index("entity_id")["label"]
    assert labels[S1] == 1.0 and labels[S2] == 0.0
    assert np.isnan(labels[S3])  # its case was verified after AS_OF; "invalid" is no label


def test_join_report_counts_every_row(built):
    rep = built.join_report.set_index(["source", "column"])
    codes = rep.loc[("purchase_invoices", "buyer_code")]
    assert codes["rows"] == 48 and codes["invalid_check"] == 12 and codes["joined"] == 36
    names = rep.loc[("tanker_waybills", "consignee_name")]
    assert names["joined"] == names["rows"] == 36  # full-width, branch and blanks normalised
    shippers = rep.loc[("tanker_waybills", "shipper_name")]
    assert shippers["joined"] == 24 and shippers["unknown_key"] == 12  # outside depot counted
    assert (
        rep["rows"]
        == rep[["joined", "missing", "malformed", "invalid_check", "unknown_key"]].sum(axis=1)
    ).all()


def test_point_in_time_ignores_future_and_late_records(tmp_path, built):
    planted = build_features("fuel_tax", AS_OF, _write(tmp_path, planted=True))
    cols = ["entity_id", "district", "label", *registry.get("fuel_tax").feature_names]
    pd.testing.assert_frame_equal(planted.frame[cols], built.frame[cols])
    # the same planted records do count once their dates have passed
    later = build_features("fuel_tax", date(2024, 5, 31), tmp_path).frame.set_index("entity_id")
    assert later.loc[S2, "label"] == 1.0
    assert later.loc[S1, "declared_to_delivered"] != pytest.approx(0.6)


def test_write_and_read_back(tmp_path, built):
    path = write_features(built, tmp_path / "features")
    assert path == tmp_path / "features" / "fuel_tax" / "2024-03-31.parquet"
    back = read_features(path)
    assert back.hash == built.hash == built.frame["feature_set_hash"].iloc[0]
    pd.testing.assert_frame_equal(back.frame, built.frame, check_dtype=False)
    assert len(back.join_report) == len(built.join_report)


def test_missing_source_names_the_source(tmp_path):
    root = _write(tmp_path)
    (root / "pool" / "fuel_tax" / "tanker_waybills.parquet").unlink()
    with pytest.raises(SourceError, match=r"fuel_tax\.tanker_waybills.*missing"):
        build_features("fuel_tax", AS_OF, root)


def test_malformed_source_names_the_source_and_column(tmp_path):
    root = _write(tmp_path)
    path = root / "pool" / "fuel_tax" / "traffic_cameras.parquet"
    frame = pd.read_parquet(path).drop(columns="vehicles_entered")
    frame.to_parquet(path)
    with pytest.raises(SourceError, match=r"fuel_tax\.traffic_cameras.*vehicles_entered"):
        build_features("fuel_tax", AS_OF, root)
    path.write_bytes(b"not parquet")
    with pytest.raises(SourceError, match=r"fuel_tax\.traffic_cameras.*not readable"):
        build_features("fuel_tax", AS_OF, root)
    pd.DataFrame(
        {
            "site_name": ["a"],
            "district": ["x"],
            "period": ["2024"],
            "vehicles_entered": ["many"],
            "heavy_vehicles_entered": [0],
        }
    ).to_parquet(path)
    with pytest.raises(SourceError, match=r"traffic_cameras: column 'period' is stored as"):
        build_features("fuel_tax", AS_OF, root)
