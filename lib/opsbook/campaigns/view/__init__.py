"""Campaign review, the view: what the notebook shows -- tables, charts, sentences, the PDCA
summary and the exploration widget -- built only from a CampaignReview. One module per
section: ``overview`` (campaigns, scorecard), ``incrementality``, ``funnel`` (funnel, channels,
attribution), ``daily`` (days, acquired users' quality), ``pdca`` (comparison, explore), ``summary`` (the
verdict, key numbers and the PDCA first).
"""
