import pytest

from tests.unit.segmentation.known_orders import LOG, report_on


@pytest.fixture
def shop(tmp_path):
    return report_on(tmp_path, LOG)
