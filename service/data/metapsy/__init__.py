"""The Metapsy peer-support database, shipped unchanged as the service's starter evidence.

See ``ATTRIBUTION.md`` beside this file (ODC-By 1.0: attribution required) and
:mod:`service.usecases.starter` for how ``make run`` imports it.
"""

DOI = "10.5281/zenodo.7687898"
LICENCE = "ODC-By 1.0"
FILE_NAME = "metapsy-peer-support.csv"
