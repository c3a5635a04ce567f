"""The FastAPI app: placeholder until the web issue lands."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Query

from qa.answer import load_answerer
from qa.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.answerer = load_answerer(settings)
        yield

    app = FastAPI(title="MDG Bærum programme Q&A", lifespan=lifespan)

    @app.get("/api/ask")
    def ask(q: str = Query(...), k: int = 5):
        return app.state.answerer.ask(q, k).as_dict()

    return app
