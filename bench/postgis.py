"""PostGIS baseline for the corridor check: ``ST_DWithin(route, point, buffer_m)`` over the
same points that ``CorridorGeometry.assess`` classifies, timed in the same run.

Set-up (not timed): a scratch database ``tripp_bench_gis`` with ``CREATE EXTENSION postgis``;
the points copied in as WGS 84 lon/lat and turned into metric points once with
``ST_Transform`` to the geometry's UTM zone; the route line projected the same way. Timed:
``SELECT count(*) FROM pts, route WHERE ST_DWithin(route.g, pts.g, buffer_m)``, a full scan
on ONE backend (parallel workers off), the best of ``repeats`` runs after a warm-up run.
This favours PostGIS: its points are already metric, while ``assess`` projects WGS 84 to
UTM inside its own timing; a second timing does the same work as ``assess``, with
``ST_Transform`` of each WGS 84 point inside the query.

When PostgreSQL or the extension is missing, ``run`` returns the reason instead of a result.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import psycopg
from sqlalchemy.engine import make_url

DATABASE = "tripp_bench_gis"
INSTALL_HINT = "apt-get install -y postgresql-15-postgis-3 (the bench target does it)"


@dataclass(frozen=True)
class GisResult:
    points: int
    seconds: float  # best of the timed runs, points stored in metres
    seconds_projecting: float  # best of the timed runs, ST_Transform of each point in the query
    within: int  # points within buffer_m, as PostGIS counts them
    version: str

    @property
    def rate(self) -> float:
        return self.points / self.seconds

    @property
    def rate_projecting(self) -> float:
        return self.points / self.seconds_projecting


def libpq_url(sqlalchemy_url: str, database: str) -> str:
    """A psycopg (libpq) URL for ``database`` on the server of ``sqlalchemy_url``."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def run(
    admin_url: str,
    route_wkt: str,
    epsg: int,
    buffer_m: float,
    lons: npt.NDArray[np.float64],
    lats: npt.NDArray[np.float64],
    *,
    repeats: int = 2,
) -> GisResult | str:
    """Time ST_DWithin over the points; a string says why it could not run."""
    admin = libpq_url(admin_url, "postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable: {_first_line(exc)}"
    try:
        return _measure(
            libpq_url(admin_url, DATABASE), route_wkt, epsg, buffer_m, lons, lats, repeats
        )
    finally:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        except psycopg.Error:
            pass


def _measure(
    url: str,
    route_wkt: str,
    epsg: int,
    buffer_m: float,
    lons: npt.NDArray[np.float64],
    lats: npt.NDArray[np.float64],
    repeats: int,
) -> GisResult | str:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            return f"PostGIS not available ({_first_line(exc)}); install: {INSTALL_HINT}"
        row = conn.execute("SELECT postgis_lib_version()").fetchone()
        version = str(row[0]) if row else "?"
        # One backend, as assess runs on one core; temp tables kept in memory.
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET temp_buffers = '512MB'")
        conn.execute("CREATE TEMP TABLE raw_pts (lon float8, lat float8)")
        text = io.StringIO()
        np.savetxt(text, np.column_stack([lons, lats]), fmt="%.8f", delimiter="\t")
        with conn.cursor().copy("COPY raw_pts (lon, lat) FROM STDIN") as copy:
            copy.write(text.getvalue())
        conn.execute(
            "CREATE TEMP TABLE pts AS SELECT "
            f"ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), {int(epsg)}) AS g FROM raw_pts"
        )
        conn.execute(
            "CREATE TEMP TABLE wgs_pts AS SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g "
            "FROM raw_pts"
        )
        conn.execute(
            "CREATE TEMP TABLE route AS SELECT "
            f"ST_Transform(ST_GeomFromText(%s, 4326), {int(epsg)}) AS g",
            (route_wkt,),
        )
        for table in ("pts", "wgs_pts", "route"):
            conn.execute(f"ANALYZE {table}")
        metric = "SELECT count(*) FROM pts, route WHERE ST_DWithin(route.g, pts.g, %s)"
        projecting = (
            "SELECT count(*) FROM wgs_pts p, route "
            f"WHERE ST_DWithin(route.g, ST_Transform(p.g, {int(epsg)}), %s)"
        )
        best, within = _best(conn, metric, buffer_m, repeats)
        best_projecting, _ = _best(conn, projecting, buffer_m, repeats)
        return GisResult(len(lons), best, best_projecting, within, version)


def _best(
    conn: psycopg.Connection[tuple[int]], query: str, buffer_m: float, repeats: int
) -> tuple[float, int]:
    """The best time of ``repeats`` runs after a warm-up run, and the count."""
    conn.execute(query, (buffer_m,))  # warm-up: pages in local buffers
    best = float("inf")
    within = 0
    for _ in range(repeats):
        start = time.perf_counter()
        found = conn.execute(query, (buffer_m,)).fetchone()
        best = min(best, time.perf_counter() - start)
        within = int(found[0]) if found else 0
    return best, within


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
