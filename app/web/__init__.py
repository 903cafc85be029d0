"""The HTML doors: Jinja pages enhanced with htmx, over the same services as the API."""

from fastapi import APIRouter, Depends

from app.web import auth, home
from app.web.deps import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
for module in (auth, home):
    router.include_router(module.router)
