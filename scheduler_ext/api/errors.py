"""Bad input becomes a 4xx with one clear line; nothing a client sends can produce a 5xx.

FastAPI's default 422 lists pydantic's error objects; kube-scheduler logs the body of a failed
call as it is, so the answer here is ``{"detail": "<one line>"}`` naming each bad field the way
the body spells it (``Pod: Field required``; ``NodeNames.3: Input should be a valid string``).
Body size limits are ``api/limits.py``'s.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from scheduler_ext.errors import describe_validation


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": describe_validation(exc)}, status.HTTP_422_UNPROCESSABLE_CONTENT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
