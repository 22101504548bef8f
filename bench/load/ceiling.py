"""The ceiling of the load benchmark: a bare FastAPI endpoint served exactly as hrdd is (uvicorn,
one process, same host), with no authentication, no database and a small JSON body. hrdd's
figures are read as a fraction of what this can do on the same machine in the same run."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}
