"""The PubMed watcher: E-utilities ``esearch`` by Entrez date, then ``efetch`` as XML.

``esearch.fcgi?db=pubmed&term=...&datetype=edat&mindate=YYYY/MM/DD&maxdate=...&retmax=N&
retstart=K&retmode=json`` gives the PMIDs added in the window, page by page; ``efetch.fcgi?
db=pubmed&id=...&retmode=xml`` their records (``PubmedArticleSet``), read for the title,
authors (``LastName Initials``), year, DOI (``ArticleId IdType="doi"``), publication types,
abstract and the trial registration (``DataBank`` ClinicalTrials.gov accession numbers), which
links a publication to its registry record (https://www.ncbi.nlm.nih.gov/books/NBK25499/,
"The E-utilities in depth"; element names from the PubMed DTD,
https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd). At most 3 requests a second
without an API key, 10 with one (:mod:`.polite`). A record that cannot be read whole is
posted with what could be read and a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.etree import ElementTree

import httpx

from service.bots import PUBMED_DEFAULT_TERM
from service.bots.polite import Polite

SOURCE = "pubmed"
PAGE_SIZE = 200
DEFAULT_TERM = PUBMED_DEFAULT_TERM
_NCT = re.compile(r"NCT\d{8}")


@dataclass(frozen=True, slots=True)
class Credentials:
    """NCBI asks for ``tool`` and ``email``; an ``api_key`` allows 10 requests a second."""

    tool: str = "living-meta-analysis"
    email: str | None = None
    api_key: str | None = None

    def params(self) -> dict[str, str]:
        out = {"tool": self.tool}
        if self.email:
            out["email"] = self.email
        if self.api_key:
            out["api_key"] = self.api_key
        return out


def search(
    http: Polite, base: str, term: str, since: date | None, until: date, credentials: Credentials
) -> Iterator[str]:
    """Every PMID with an Entrez date in ``[since, until]``."""
    params: dict[str, Any] = {
        "db": "pubmed",
        "term": term,
        "datetype": "edat",
        "mindate": (since or date(1900, 1, 1)).strftime("%Y/%m/%d"),
        "maxdate": until.strftime("%Y/%m/%d"),
        "retmax": PAGE_SIZE,
        "retmode": "json",
        **credentials.params(),
    }
    start = 0
    while True:
        result = http.get(f"{base}/esearch.fcgi", {**params, "retstart": start}, _esearch)
        ids, count = result
        yield from ids
        start += len(ids)
        if not ids or start >= count:
            return


def _esearch(response: httpx.Response) -> tuple[list[str], int]:
    body = response.json().get("esearchresult")
    if not isinstance(body, dict) or "idlist" not in body:
        raise ValueError("no esearchresult.idlist")
    return [str(i) for i in body["idlist"]], int(body.get("count", 0))


def fetch(
    http: Polite, base: str, pmids: list[str], credentials: Credentials
) -> list[dict[str, Any]]:
    """The candidate bodies of ``pmids`` (one efetch per page of ids)."""
    out: list[dict[str, Any]] = []
    for first in range(0, len(pmids), PAGE_SIZE):
        page = pmids[first : first + PAGE_SIZE]
        params = {"db": "pubmed", "id": ",".join(page), "retmode": "xml", **credentials.params()}
        root = http.get(f"{base}/efetch.fcgi", params, _xml)
        out.extend(candidate(article) for article in root.iter("PubmedArticle"))
    return out


def _xml(response: httpx.Response) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError as error:  # truncated: retried
        raise ValueError(f"not XML: {error}") from error
    if root.tag != "PubmedArticleSet":
        raise ValueError(f"expected PubmedArticleSet, got {root.tag}")
    return root


def _text(element: ElementTree.Element | None) -> str | None:
    if element is None:
        return None
    text = " ".join("".join(element.itertext()).split())
    return text or None


def candidate(article: ElementTree.Element) -> dict[str, Any]:
    """One ``PubmedArticle`` as a candidate body."""
    warnings: list[str] = []
    citation = article.find("MedlineCitation")
    if citation is None:
        return {"warnings": ["the PubmedArticle has no MedlineCitation"]}
    pmid = _text(citation.find("PMID"))
    art = citation.find("Article")
    title = _text(art.find("ArticleTitle")) if art is not None else None
    abstract = (
        " ".join(_text(p) or "" for p in art.iterfind("Abstract/AbstractText"))
        if art is not None
        else ""
    )
    types = [
        _text(t) or "" for t in citation.iterfind("Article/PublicationTypeList/PublicationType")
    ]
    dois = [
        _text(i)
        for i in article.iterfind("PubmedData/ArticleIdList/ArticleId")
        if i.get("IdType") == "doi"
    ]
    registered = [
        n
        for bank in citation.iterfind("Article/DataBankList/DataBank")
        if (_text(bank.find("DataBankName")) or "").lower() == "clinicaltrials.gov"
        for n in (_text(a) for a in bank.iterfind("AccessionNumberList/AccessionNumber"))
        if n
    ]
    if not registered:
        registered = _NCT.findall(abstract or "")
    if len(set(registered)) > 1:
        warnings.append(
            f"several registrations ({', '.join(sorted(set(registered)))}); the first is linked"
        )
    return {
        "pmid": pmid,
        "doi": dois[0] if dois else None,
        "nct_id": registered[0] if registered else None,
        "title": title,
        "authors": _authors(citation),
        "year": _year(citation),
        "abstract": abstract or None,
        "publication_types": [t for t in types if t],
        "warnings": warnings,
    }


def _authors(citation: ElementTree.Element) -> str | None:
    names = []
    for author in citation.iterfind("Article/AuthorList/Author"):
        last, initials = _text(author.find("LastName")), _text(author.find("Initials"))
        collective = _text(author.find("CollectiveName"))
        if last:
            names.append(f"{last} {initials}" if initials else last)
        elif collective:
            names.append(collective)
    return ", ".join(names) or None


def _year(citation: ElementTree.Element) -> int | None:
    for path in (
        "Article/Journal/JournalIssue/PubDate/Year",
        "Article/ArticleDate/Year",
        "DateCompleted/Year",
    ):
        text = _text(citation.find(path))
        if text and text.isdigit():
            return int(text)
    medline = _text(citation.find("Article/Journal/JournalIssue/PubDate/MedlineDate"))
    found = re.search(r"\d{4}", medline or "")
    return int(found.group(0)) if found else None
