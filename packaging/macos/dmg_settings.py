"""dmgbuild settings for TaskChat.dmg: the app and an Applications link to drag it onto.

Used by packaging/macos/build_dmg.py:  dmgbuild -s dmg_settings.py -D app=PATH NAME OUT.dmg
dmgbuild runs this file with `defines` in scope.
"""

import os.path

application = defines.get("app", "dist/onedir/TaskChat.app")  # noqa: F821 (dmgbuild)
appname = os.path.basename(application)

format = "UDZO"  # compressed, read-only
filesystem = "HFS+"
files = [application]
symlinks = {"Applications": "/Applications"}
icon_locations = {appname: (140, 120), "Applications": (420, 120)}
window_rect = ((200, 200), (560, 300))
default_view = "icon-view"
icon_size = 96
show_status_bar = False
show_toolbar = False
show_sidebar = False
