// The scripted fakes ship in the testing kit (@llmrtc/llmrtc-backend/testing): one copy, used here too.
export * from '../../testing/scripted-providers.js'
