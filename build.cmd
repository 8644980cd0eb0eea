@echo off
rem Restore, build and test MLNetReflectedDiffusion on Windows (same options as build.sh).
setlocal enabledelayedexpansion
set CONFIGURATION=Release
set DO_BUILD=1
set DO_TEST=1
set FILTER=
:parse
if "%~1"=="" goto run
if /I "%~1"=="--no-test" set DO_TEST=0& shift & goto parse
if /I "%~1"=="--test-only" set DO_BUILD=0& shift & goto parse
if /I "%~1"=="--no-build" set DO_BUILD=0& shift & goto parse
if /I "%~1"=="--filter" set FILTER=%~2& shift & shift & goto parse
if /I "%~1"=="-c" set CONFIGURATION=%~2& shift & shift & goto parse
if /I "%~1"=="--configuration" set CONFIGURATION=%~2& shift & shift & goto parse
echo build.cmd: unknown option '%~1' 1>&2
exit /b 2
:run
set DOTNET_CLI_TELEMETRY_OPTOUT=1
set DOTNET_NOLOGO=1
if "%DO_BUILD%"=="1" (
  dotnet restore MLNetReflectedDiffusion.sln || exit /b 1
  dotnet build MLNetReflectedDiffusion.sln -c %CONFIGURATION% --no-restore -m:1 || exit /b 1
)
if "%DO_TEST%"=="1" (
  rem A larger gen0 budget makes GCs rarer, and with them TorchSharp's Scalar finalizer race (see build.sh).
  if not defined DOTNET_GCgen0size set DOTNET_GCgen0size=0x2000000
  if "%FILTER%"=="" (
    dotnet test MLNetReflectedDiffusion.sln -c %CONFIGURATION% --no-build -m:1 --blame --logger "console;verbosity=normal" || exit /b 1
  ) else (
    dotnet test MLNetReflectedDiffusion.sln -c %CONFIGURATION% --no-build -m:1 --blame --logger "console;verbosity=normal" --filter "%FILTER%" || exit /b 1
  )
)
