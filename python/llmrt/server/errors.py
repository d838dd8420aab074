"""Errors as the OpenAI API shapes them: {"error": {"message", "type", "param", "code"}} with the
matching HTTP status. Every failure a handler meets is turned into one of these; nothing a client
sends reaches the client as a stack trace or takes the server down."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ContextError, LLMRTError

# status -> the OpenAI error type clients switch on
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    500: "server_error",
    503: "unavailable_error",
}


class APIError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}


def error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"),
                      "param": param, "code": code}}


def error_response(err: APIError) -> JSONResponse:
    return JSONResponse(error_body(err.status, err.message, err.param, err.code), status_code=err.status,
                        headers=err.headers)


def from_llmrt(e: LLMRTError) -> APIError:
    """Everything llmrt raises for a request is the request's fault (a prompt too long for the
    context, a sampling value out of range, a schema that does not compile): 400."""
    code = "context_length_exceeded" if isinstance(e, ContextError) else None
    return APIError(400, str(e), code=code)


def install_handlers(app) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, e: APIError):
        return error_response(e)

    @app.exception_handler(LLMRTError)
    async def _llmrt_error(_: Request, e: LLMRTError):
        return error_response(from_llmrt(e))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError):
        errors = e.errors()
        first = errors[0] if errors else {}
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        if first.get("type") == "json_invalid":
            return error_response(APIError(400, f"the request body is not valid JSON: {first.get('msg', '')}"))
        where = ".".join(loc) or "body"
        return error_response(APIError(422, f"{where}: {first.get('msg', 'invalid value')}", param=where or None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException):
        return error_response(APIError(e.status_code, str(e.detail), headers=getattr(e, "headers", None)))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception):
        return error_response(APIError(500, f"internal error: {type(e).__name__}: {e}"))
