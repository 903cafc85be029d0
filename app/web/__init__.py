"""The HTML doors: Jinja pages enhanced with htmx, over the same services as the API."""

from fastapi import APIRouter, Depends

from app.web import (
    admin,
    auth,
    committee,
    committee_import,
    committee_import_entries,
    exports,
    home,
    member,
    notices,
    passwords,
    printing,
)
from app.web.deps import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
for module in (auth, home, member, passwords, committee, committee_import, admin, exports,
               notices, committee_import_entries,
               printing):
    router.include_router(module.router)
