"""The HTML doors: Jinja pages enhanced with htmx, over the same services as the API.

One package per audience (member/, committee/, admin/), each with its router; the pages
every audience shares sit beside them.
"""

from fastapi import APIRouter, Depends

from app.web import (
    admin,
    auth,
    committee,
    exports,
    home,
    member,
    passwords,
    printing,
    standing,
)
from app.web.deps import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
for module in (auth, home, member, passwords, standing, committee, admin, exports, printing):
    router.include_router(module.router)
