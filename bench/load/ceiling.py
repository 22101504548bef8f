"""The ceilings of the load benchmark: bare FastAPI endpoints served exactly as hrdd is
(uvicorn, one process, same host), with no authentication, no database and a small JSON body.
hrdd's figures are read as a fraction of what these do on the same machine in the same run.

Two ceilings, because FastAPI runs them very differently:
- `/ping`, a `def` endpoint: FastAPI runs it in a worker thread, as hrdd runs every route that
  touches the database (the drivers are synchronous), so it is what the framework can do for
  such a route;
- `/ping-async`, an `async def` endpoint: it runs on the event loop with no thread hop, the most
  the framework can do at all, about three times the other on this machine.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/ping-async")
async def ping_async() -> dict[str, str]:
    return {"status": "ok"}
