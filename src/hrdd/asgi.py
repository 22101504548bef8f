"""The ASGI application uvicorn serves (`hrdd serve`, or `uvicorn hrdd.asgi:app`)."""

from hrdd.main import create_app

app = create_app()
