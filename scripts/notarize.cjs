// electron-builder afterSign hook (electron-builder.yml): notarizes the signed macOS app with Apple's
// notary service (@electron/notarize, notarytool) — only when credentials are in the environment:
//   APPLE_ID + APPLE_APP_SPECIFIC_PASSWORD + APPLE_TEAM_ID      (an Apple ID with an app-specific password)
//   or APPLE_API_KEY (path to the .p8) + APPLE_API_KEY_ID + APPLE_API_ISSUER   (an App Store Connect API key)
// Without them (local builds, Linux and Windows builds) it does nothing and says so.
exports.default = async function notarizeApp(context) {
  if (context.electronPlatformName !== 'darwin') return
  const env = process.env
  let credentials
  if (env.APPLE_ID && env.APPLE_APP_SPECIFIC_PASSWORD && env.APPLE_TEAM_ID) {
    credentials = { appleId: env.APPLE_ID, appleIdPassword: env.APPLE_APP_SPECIFIC_PASSWORD, teamId: env.APPLE_TEAM_ID }
  } else if (env.APPLE_API_KEY && env.APPLE_API_KEY_ID && env.APPLE_API_ISSUER) {
    credentials = { appleApiKey: env.APPLE_API_KEY, appleApiKeyId: env.APPLE_API_KEY_ID, appleApiIssuer: env.APPLE_API_ISSUER }
  } else {
    console.log('notarize: skipped (set APPLE_ID, APPLE_APP_SPECIFIC_PASSWORD and APPLE_TEAM_ID, or APPLE_API_KEY, APPLE_API_KEY_ID and APPLE_API_ISSUER)')
    return
  }
  const appPath = `${context.appOutDir}/${context.packager.appInfo.productFilename}.app`
  const { notarize } = require('@electron/notarize')
  console.log(`notarize: ${appPath}`)
  await notarize({ appPath, ...credentials })
}
