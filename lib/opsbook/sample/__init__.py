"""A deterministic generator of a fictional online shop with an app: the workbook's sample data.

``generate_sample(out)`` writes one Parquet file per table of the data contract (users, events,
orders, assignments, campaigns, campaign_members, spend, content, and the KPI system's
survey_responses, community_members, operations, data_requests) and ``truth.json``, the facts
planted in the data (true retention per channel, true experiment effects, campaign lifts, the
outage day, ...). Reports run on the sample can be checked against the truth.

The process, in short (see ``truth.json`` for the numbers):

* Users sign up over the period (weekly seasonality, mild upward trend); each has a latent type
  (engaged or casual, share by channel), a geometric lifetime (daily churn rate by type and
  channel) and, while alive, is active on a calendar day (Asia/Shanghai) with probability
  ``p_active(type, channel) x factor(day)`` (weekend, campaign days, the outage day). The signup
  day is always active. An active day is one session: an ``app_open`` and a few more events.
* Orders happen on active days with a heavy-tailed latent purchase propensity; amounts are
  lognormal around a user-level mean; some content views are followed by an order within hours.
* Experiments, campaign windows and the outage day replace the background order process for the
  users and days concerned, so the planted effects are exact.
* Order brushing: rings of dormant accounts on one device with one amount within minutes and no
  event, and refund abusers, among users no other truth reads (``brushing``); every order has a
  ``device_id``.

Generation is vectorised with numpy in blocks of ``BLOCK`` users. Block ``b`` draws its random
numbers from ``SeedSequence(seed, spawn_key=(0, b))``, so the data do not depend on how blocks
are grouped into write chunks; each chunk is appended to one ``ParquetWriter`` per table, so a
million users never sit in memory at once.
"""

from opsbook.sample.generate import generate_sample
from opsbook.sample.kpi_system import KPI_SYSTEM_TABLES
from opsbook.sample.parameters import BLOCK
from opsbook.sample.parameters import TABLES as SHOP_TABLES

#: every table the sample writes: the shop's, then the KPI system's optional ones
TABLES = SHOP_TABLES + KPI_SYSTEM_TABLES

__all__ = ["BLOCK", "TABLES", "generate_sample"]
