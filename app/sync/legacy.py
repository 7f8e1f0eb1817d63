async def import_legacy(*a, **k):
    raise NotImplementedError
