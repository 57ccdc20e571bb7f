"""The application factory: routers, error handlers, middleware and lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError

from service import __version__
from service.api.documentation import install_documentation
from service.api.fast_path import KnownUrls, PooledFastPath
from service.api.header_limits import warn_if_unbounded_parser
from service.api.problems import install_problem_handlers
from service.api.query_parameters import refuse_unknown_query_parameters
from service.api.rate_limit import RateLimiter
from service.api.routes import (
    analyses,
    audit,
    curation,
    events,
    extractions,
    health,
    imports,
    judgements,
    metrics,
    plots,
    pooled,
    preview,
    scripts,
    sequential,
    studies,
    surveillance,
    versions,
    vocabulary,
    webhooks,
)
from service.api.security import install_middleware
from service.db.engine import Database
from service.db.head_probe import head_probe_for
from service.delivery.runner import BackgroundDelivery
from service.logs import configure_logging
from service.settings import Settings, get_settings
from service.usecases.conclusions.runner import BackgroundConclusions, worker_for
from service.usecases.conclusions.warm import warm_pooled
from service.usecases.events.sealing import has_plain_secrets, seal_plain_secrets
from service.usecases.operations.metrics import (
    check_multiprocess_setting,
    forget_this_process,
    watch_pools,
)
from service.usecases.pooled.cache import ResultCache
from service.web import pages

DESCRIPTION = """\
A living meta-analysis of peer support in mental health, after Burke et al. (2019),
*Stigma and Health*: trials of peer-led groups, one-to-one peer support and peer-run services,
pooled for **empowerment**, **self-efficacy** and **internalized stigma** (signs harmonised so
that a positive effect always favours peer support).

Errors are RFC 9457 `application/problem+json` documents.
"""

# CPython collects its youngest generation after every 700 new container objects. A request
# that imports a 1,000-study batch keeps some 300,000 of them alive until it answers, so the
# collector walked that growing set again and again: 0.3-0.4 s of a 1.2-1.9 s batch, measured
# with gc.callbacks (issue 23). After every 50,000 it is about 0.05 s. Cyclic garbage waits a
# little longer (a few MB at most); reference counting frees everything else as before.
GC_THRESHOLDS = (50_000, 20, 10)


def _operation_id(route: APIRoute) -> str:
    # Stable operation ids: the handler's name, which is unique across the app.
    return route.name


def _warm(database: Database, cache: ResultCache, outcomes: tuple[str, ...]) -> None:
    # Best effort: a failure here only means the first GET computes the answer itself.
    try:
        for outcome in sorted(outcomes):  # stops when a newer version waits: it comes first
            with database.session() as session:
                if not warm_pooled(session, cache, [outcome]):
                    return
    except Exception:
        logging.getLogger(__name__).exception("warming the pooled cache failed")


def _seal_secrets(database: Database, settings: Settings) -> None:
    # Secrets that migration 0019 left plain because no key existed yet; best effort: an
    # unreachable database is /ready's to report, and the next start tries again. An embedded
    # database whose file does not exist holds no secrets: connecting would create the file.
    sqlite_file = settings.sqlite_file
    if sqlite_file is not None and not sqlite_file.exists():
        return
    try:
        with database.session() as session:
            if not has_plain_secrets(session):
                return  # the usual case: no write transaction (and no SQLite write lock)
        with database.session(write=True) as session:
            seal_plain_secrets(session, settings)
    except SQLAlchemyError:
        logging.getLogger(__name__).debug("webhook secrets not checked: database unreachable")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (the environment's when omitted)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    check_multiprocess_setting(settings.prometheus_multiproc_dir)
    database = Database.from_settings(settings)
    watch_pools(database)

    head_probe = head_probe_for(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything loaded at start-up lives as long as the process: keep it out of the
        # collector's full passes, which cost 0.1-0.3 s per 1,000-study batch otherwise.
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        warn_if_unbounded_parser()
        _seal_secrets(database, settings)
        # Webhooks are delivered from here unless dedicated `lma worker`s do it.
        delivery = (
            BackgroundDelivery(database, settings).start()
            if settings.webhooks_deliver_in_api
            else None
        )
        # Pooled answers, monitoring looks, certainty and events, after each write commits.
        conclusions = (
            BackgroundConclusions(app.state.conclusions, listen_on=database.url).start()
            if settings.conclusions_in_api
            else None
        )
        yield
        if conclusions is not None:
            conclusions.stop()
        if delivery is not None:
            delivery.stop()
        if head_probe is not None:
            await head_probe.close()
        database.dispose()
        forget_this_process(settings.prometheus_multiproc_dir)
        gc.set_threshold(*thresholds)

    app = FastAPI(
        title="Living meta-analysis of peer support",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        dependencies=[Depends(refuse_unknown_query_parameters)],
        # Served by service.web from assets shipped with the service, not from CDNs.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.pooled_cache = cache = ResultCache()
    app.state.conclusions = worker_for(
        database,
        settings,
        memo=cache.selections,
        after_conclusion=lambda _, outcomes: _warm(database, cache, outcomes),
    )
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.head_probe = head_probe
    app.state.known_urls = KnownUrls()
    install_problem_handlers(app)
    install_documentation(app, keys_required_for_reads=settings.require_api_key_for_reads)
    app.add_middleware(PooledFastPath)  # innermost: the others still wrap its answers
    install_middleware(app, settings)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(vocabulary.router)
    app.include_router(preview.router)  # before /v1/studies/{study_id}
    app.include_router(studies.router)
    app.include_router(curation.router)
    app.include_router(extractions.router)
    app.include_router(versions.router)
    app.include_router(audit.router)
    app.include_router(analyses.router)
    app.include_router(pooled.router)
    app.include_router(events.router)
    app.include_router(webhooks.router)
    app.include_router(sequential.router)
    app.include_router(judgements.router)
    app.include_router(scripts.router)
    app.include_router(imports.router)
    app.include_router(plots.router)
    app.include_router(surveillance.router)
    pages.install_pages(app, settings)
    return app


app = create_app()
