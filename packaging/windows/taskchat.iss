; Inno Setup script for the TaskChat installer (packaging/windows/build_installer.py runs
; ISCC with /DAppVersion, /DSourceDir (the one-dir build) and /DOutputDir, /DOutputName).
;
; Per-user: installs into %LOCALAPPDATA%\Programs\TaskChat without admin rights, adds a
; Start menu entry and an uninstaller (Settings > Apps). The data folder
; (%LOCALAPPDATA%\TaskChat) and the Credential Manager entries are not the installer's:
; uninstalling removes only the files it installed.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\onedir\taskchat"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef OutputName
  #define OutputName "TaskChat-setup"
#endif

[Setup]
AppId={{6F1E3C52-8B7A-4D0E-9C41-2A5D7E9B3F10}
AppName=TaskChat
AppVersion={#AppVersion}
AppVerName=TaskChat {#AppVersion}
AppPublisher=The TaskChat developers
DefaultDirName={localappdata}\Programs\TaskChat
DefaultGroupName=TaskChat
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#OutputName}
SetupIconFile=..\icons\taskchat.ico
UninstallDisplayIcon={app}\taskchat.exe
UninstallDisplayName=TaskChat
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\TaskChat"; Filename: "{app}\taskchat.exe"; WorkingDir: "{app}"
Name: "{userdesktop}\TaskChat"; Filename: "{app}\taskchat.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\taskchat.exe"; Description: "{cm:LaunchProgram,TaskChat}"; Flags: nowait postinstall skipifsilent
