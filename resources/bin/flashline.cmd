@echo off
rem The flashline command of an installed Flashline app (Windows): runs the bundled CLI
rem (out\cli\flashline.js in the app's app.asar) with the app's own runtime (Electron as Node).
rem Installed as %LOCALAPPDATA%\Programs\Flashline\resources\bin\flashline.cmd next to ..\..\Flashline.exe;
rem add that bin folder to PATH to type "flashline" anywhere.
setlocal
set "RESOURCES=%~dp0.."
set ELECTRON_RUN_AS_NODE=1
"%RESOURCES%\..\Flashline.exe" "%RESOURCES%\app.asar\out\cli\flashline.js" %*
exit /b %ERRORLEVEL%
