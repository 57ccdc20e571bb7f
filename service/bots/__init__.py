"""The reference update bot (issue 28): watches ClinicalTrials.gov and PubMed for new trials.

It talks to the service only through its public HTTP API (``/v1/search-runs``,
``/v1/instruments``), as any bot would; nothing here imports the service's storage or use
cases. ``lma watch`` runs it once, or in a loop, or from cron:

- :mod:`.polite`: HTTP with rate limits, retries and backoff;
- :mod:`.ctgov`: the ClinicalTrials.gov API v2 watcher; :mod:`.ctgov_results` maps a results
  section to a study draft;
- :mod:`.pubmed`: the PubMed E-utilities watcher;
- :mod:`.watch`: one search run per source, resumable from the service's watermark.
"""

# Defaults, here so that ``lma watch --help`` builds its parser without importing httpx.
CTGOV_URL = "https://clinicaltrials.gov"
PUBMED_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
SOURCES = ("ctgov", "pubmed")
PUBMED_DEFAULT_TERM = (
    '("peer support" OR "peer specialist" OR "peer-led" OR "peer mentor" OR "mutual support") '
    "AND (empowerment OR self-efficacy OR stigma) AND randomized controlled trial[pt]"
)
