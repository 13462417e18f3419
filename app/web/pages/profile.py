"""A user's own account: their name, email and role, and changing their password."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.config import get_settings
from app.schemas.user import PasswordChange
from app.services import users
from app.web.forms import FormInvalidError, checked, form_values, refusals
from app.web.pages.auth import home_for
from app.web.routing import PageDb, page_router
from app.web.session import PROFILE_PATH, FormUser, PageCaller, PageUser, SubmittedForm
from app.web.templating import render

router = page_router()
PASSWORD_FIELDS = ["current_password", "new_password", "new_password_again"]


def _profile_page(
    request: Request,
    caller: PageCaller,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "profile.html",
        caller,
        status_code=status_code,
        account=caller.user,
        errors=errors or {},
        notice=request.query_params.get("done", ""),
        password_min_length=get_settings().PASSWORD_MIN_LENGTH,
    )


@router.get(PROFILE_PATH, response_class=HTMLResponse)
def show_profile(request: Request, caller: PageUser) -> HTMLResponse:
    """The user's name, email and role, and the form that changes their password."""
    return _profile_page(request, caller)


@router.post(f"{PROFILE_PATH}/password", response_class=HTMLResponse)
def change_password(
    request: Request, form: SubmittedForm, db: PageDb, caller: FormUser
) -> Response:
    """Change the user's password (the current one, the new one twice); their other sessions
    end."""
    forced = caller.user.must_change_password
    with refusals(db) as refused:
        body = checked(PasswordChange, form_values(form, PASSWORD_FIELDS))
        if body.new_password != body.new_password_again:
            raise FormInvalidError(
                {"new_password_again": "The two new passwords differ; type the same one twice."}
            )
        users.change_own_password(
            db,
            caller.actor,
            caller.user,
            current_password=body.current_password,
            new_password=body.new_password,
            keep_session_id=caller.session.id,
        )
        target = home_for(caller.user.role) if forced else f"{PROFILE_PATH}?done=password"
        return RedirectResponse(target, status_code=303)
    errors = refused.errors
    if "password" in errors:  # the policy names the password it refused; here the new one
        errors["new_password"] = errors.pop("password")
    return _profile_page(request, caller, errors=errors, status_code=refused.status_code)
