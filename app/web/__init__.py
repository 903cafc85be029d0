"""The HTML doors: Jinja pages enhanced with htmx, over the same services as the API."""

from fastapi import APIRouter, Depends

from app.web import admin, auth, committee, home, member, passwords
from app.web.deps import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
for module in (auth, home, member, passwords, committee, admin):
    router.include_router(module.router)
