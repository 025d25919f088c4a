"""The FastAPI reference receiver of the webhook-ingest benchmark.

It does the same durable work as the minimal axum receiver
(bench/src/reference.rs): read the raw body, check X-Hub-Signature-256
(HMAC-SHA256 under the app secret, compared in constant time), parse the
JSON, take entry[0].messaging[0].message.mid and store the body with one
autocommit INSERT ... ON CONFLICT (mid) DO NOTHING through an asyncpg pool.
It answers 200 only after the insert returned: a 200 means durably stored.
401 for a bad signature, 400 for a body that is not a message, 503 when the
database failed.

Run it the way the bench does (bench/src/phases.rs):

    FASTAPI_REF_DATABASE_URL=postgres://... FASTAPI_REF_SECRET=... \\
    FASTAPI_REF_POOL_SIZE=10 \\
    uvicorn app:app --app-dir bench/fastapi_reference --host 127.0.0.1 --port 8000 \\
        --workers 2 --loop uvloop --http httptools --no-access-log

Each worker process has its own pool of FASTAPI_REF_POOL_SIZE connections
(10 by default, so two workers hold 20 like the other receivers).
"""

import hashlib
import hmac
import json
import os
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request, Response

DATABASE_URL = os.environ["FASTAPI_REF_DATABASE_URL"]
SECRET = os.environ["FASTAPI_REF_SECRET"].encode()
POOL_SIZE = int(os.environ.get("FASTAPI_REF_POOL_SIZE", "10"))

TABLE = "fastapi_inbound"
CREATE = (
    f"create table if not exists {TABLE} (id bigserial primary key, mid text not null unique, "
    "body bytea not null, received_at timestamptz not null default now())"
)
INSERT = f"insert into {TABLE} (mid, body) values ($1, $2) on conflict (mid) do nothing"

POOL: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_app: FastAPI):
    global POOL
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        await pool.execute(CREATE)
    except (asyncpg.UniqueViolationError, asyncpg.DuplicateTableError, asyncpg.DuplicateObjectError):
        # Both workers start at once: `create table if not exists` can lose
        # the race on the table's type row. The other worker created it.
        pass
    POOL = pool
    yield
    POOL = None
    await pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def _mid(body: bytes) -> str | None:
    try:
        mid = json.loads(body)["entry"][0]["messaging"][0]["message"]["mid"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return mid if isinstance(mid, str) else None


@app.post("/webhooks/meta")
async def receive(request: Request) -> Response:
    body = await request.body()
    given = request.headers.get("x-hub-signature-256", "").encode("latin-1")
    expected = b"sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(given, expected):
        return Response(status_code=401)
    mid = _mid(body)
    if mid is None:
        return Response(status_code=400)
    try:
        await POOL.execute(INSERT, mid, body)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return Response(status_code=503)
    return Response(status_code=200)


@app.get("/readyz")
async def ready() -> Response:
    return Response(status_code=200 if POOL is not None else 503)
