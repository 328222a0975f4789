import re

import pytest

from opsbook.i18n import catalogue, t


def test_every_key_has_both_languages_with_the_same_placeholders():
    for key, texts in catalogue().items():
        assert texts["zh"].strip() and texts["en"].strip(), key
        fields = {lang: set(re.findall(r"\{(\w+)\}", text)) for lang, text in texts.items()}
        assert fields["zh"] == fields["en"], key


def test_lookup_and_errors():
    assert t("core.table_summary", "en", rows="3", first="a", last="b") == "3 rows, a to b"
    with pytest.raises(KeyError):
        t("core.nope", "en")
    with pytest.raises(ValueError, match="lang"):
        t("core.table", "fr")
