import type { ScenarioInput } from '../scenario-schema.js';

// Azure Foundry Agent Service shapes. The `activities` step and the `bing_grounding` call are
// modelled on Azure's public docs; their inner fields are illustrative (unverified), which is the point:
// a bridge must carry shapes it does not know without rejecting them.

/**
 * Records the spec does not describe: an `activities` step, `bing_grounding` calls, extra fields,
 * steps with an `expires_at` deadline (D1), `instructions: null` (D5), `tool_resources` on a run (D6).
 */
export const unknownTypesScenario: ScenarioInput = {
  name: 'unknown-types',
  threads: [
    {
      id: 'thread_unknowntypes',
      metadata: { provider: 'azure-foundry' },
      runs: [
        {
          id: 'run_unknowntypes',
          tools: [
            { type: 'bing_grounding', bing_grounding: { search_configurations: [{ connection_id: 'conn_bing_1', count: 5 }] } },
            { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } },
          ],
          patch: { set: { tool_resources: {}, x_azure_region: 'swedencentral' } },
          stepExpiresAt: true,
          steps: [
            {
              type: 'activities',
              details: { activities: [{ id: 'act_1', type: 'mcp_list_tools', server_label: 'docs', tools: [{ name: 'search_docs' }] }] },
            },
            {
              type: 'tool_calls',
              toolCalls: [
                {
                  type: 'bing_grounding',
                  fields: { bing_grounding: { requesturl: 'https://api.bing.microsoft.com/v7.0/search?q=lisbon+weather', response_metadata: { market: 'en-US' } } },
                },
                { type: 'function', name: 'get_weather', arguments: { city: 'Lisbon' } },
              ],
            },
            { type: 'message_creation', text: 'According to Bing, Lisbon is sunny today.', patch: { set: { x_content_filter_results: { hate: { filtered: false } } } } },
          ],
        },
        { id: 'run_instructionsnull', startAt: 20, instructions: null, template: 'message' },
      ],
    },
  ],
};
