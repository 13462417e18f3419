"""Administration: users (create, role, deactivate, unlock, reset password) and sessions."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.errors import NotFoundError
from app.models.user import Role
from app.schemas.types import RecordId
from app.schemas.user import PasswordReset, RoleChange, UserCreate
from app.services import users
from app.services.permissions import Permission
from app.web.forms import checked, form_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 100


def _users_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    *,
    role: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    asked = list_query(request, size=PAGE_SIZE, sorts=users.USER_SORTS)
    rows, total = users.list_users(
        db,
        offset=asked.offset,
        limit=PAGE_SIZE,
        role=Role(role) if role in set(Role) else None,
        search=asked.q or None,
        sort=asked.sort,
    )
    shown = listing(request, asked, total)
    if request.method == "GET" and (past_end := shown.past_end(request)) is not None:
        return past_end
    return render(
        request,
        "admin/users.html",
        caller,
        status_code=status_code,
        users=rows,
        total=total,
        listing=shown,
        role=role,
        roles=list(Role),
        values=values or {},
        errors=errors or {},
    )


@router.get("/admin/users", response_class=HTMLResponse)
def list_users(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.USERS_MANAGE),
    role: str = "",
) -> Response:
    """Accounts, searched, filtered by role and sorted, and the form for a new one."""
    return _users_page(request, db, caller, role=role)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.USERS_MANAGE),
) -> Response:
    """Create the account of the form."""
    values = form_values(form, ["email", "password", "full_name", "role"])
    with refusals(db) as refused:
        body = checked(UserCreate, values)
        user = users.create_user(
            db,
            caller.actor,
            email=body.email,
            password=body.password,
            role=body.role,
            full_name=body.full_name,
            must_change_password=body.must_change_password,
        )
        return RedirectResponse(f"/admin/users/{user.id}?done=created", status_code=303)
    values.pop("password", None)
    return _users_page(
        request, db, caller, values=values, errors=refused.errors, status_code=refused.status_code
    )


def _user_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    user_id: RecordId,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    user = users.get_user(db, user_id)
    return render(
        request,
        "admin/user.html",
        caller,
        status_code=status_code,
        account=user,
        sessions=users.list_sessions(db, user.id),
        roles=list(Role),
        errors=errors or {},
        notice=request.query_params.get("done", ""),
        can_sessions=caller.can(Permission.SESSIONS_MANAGE),
    )


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_detail(
    request: Request,
    user_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.USERS_MANAGE),
) -> HTMLResponse:
    """An account: its state, its role, its open sessions, and what an admin can do."""
    return _user_page(request, db, caller, user_id)


@router.post("/admin/users/{user_id}/{action}", response_class=HTMLResponse)
def change_user(
    request: Request,
    form: SubmittedForm,
    user_id: RecordId,
    action: str,
    db: PageDb,
    caller: PageCaller = form_require(Permission.USERS_MANAGE),
) -> Response:
    """Change the role, deactivate, activate, unlock, reset the password or end sessions."""
    user = users.get_user(db, user_id)
    with refusals(db) as refused:
        if action == "role":
            users.change_role(
                db, caller.actor, user, checked(RoleChange, form_values(form, ["role"])).role
            )
        elif action == "deactivate":
            users.deactivate(db, caller.actor, user)
        elif action == "activate":
            users.activate(db, caller.actor, user)
        elif action == "unlock":
            users.unlock(db, caller.actor, user)
        elif action == "password":
            reset = checked(PasswordReset, form_values(form, ["new_password"]))
            users.reset_password(
                db, caller.actor, user, reset.new_password, must_change=reset.must_change_password
            )
        elif action == "revoke":
            caller.require(Permission.SESSIONS_MANAGE, what="end sessions")
            session_id = str(form.get("session_id", ""))
            if session_id:
                users.revoke_session(db, caller.actor, user, session_id)
            else:
                users.revoke_all_sessions(db, caller.actor, user)
        else:
            raise NotFoundError("There is no such action.")
        return RedirectResponse(f"/admin/users/{user_id}?done={action}", status_code=303)
    return _user_page(
        request, db, caller, user_id, errors=refused.errors, status_code=refused.status_code
    )


@router.get("/admin/sessions", response_class=HTMLResponse)
def list_sessions(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SESSIONS_MANAGE),
) -> HTMLResponse:
    """Every open session, newest first, with its user."""
    sessions = users.list_sessions(db)
    accounts = {
        user.id: user for user in users.users_by_id(db, {session.user_id for session in sessions})
    }
    return render(
        request,
        "admin/sessions.html",
        caller,
        sessions=sessions,
        accounts=accounts,
        current=caller.session.id,
    )
