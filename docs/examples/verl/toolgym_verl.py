"""A verl tool for toolgym environments: one toolgym episode per verl trajectory.

verl's MCP client opens a fresh MCP session for every call, so a toolgym episode cannot live in a
session. It lives in a handle instead: `create` calls gym_start (the task id comes from the dataset
row's `extra_info.tools_kwargs.<tool>.create_kwargs.task_id`, which `toVerl` writes) and keeps the
handle, `execute` passes it as the `episode` argument of every call, and `calc_reward` submits the
final answer with gym_submit and returns toolgym's reward. The policy never sees the handle: the
tool schema verl shows it has the `episode` property removed.
"""

from typing import Any, Optional, Tuple

from verl.tools.mcp_base_tool import MCPBaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema
from verl.tools.utils.mcp_clients.McpClientManager import ClientManager

EPISODE_ARG = "episode"


def without_episode(schema: OpenAIFunctionToolSchema) -> OpenAIFunctionToolSchema:
    """The tool schema with the handle argument removed (the policy must not see or fill it)."""
    raw = schema.model_dump(exclude_none=True)
    params = raw["function"].get("parameters", {})
    params.get("properties", {}).pop(EPISODE_ARG, None)
    if EPISODE_ARG in params.get("required", []):
        params["required"] = [k for k in params["required"] if k != EPISODE_ARG]
    return OpenAIFunctionToolSchema.model_validate(raw)


class ToolgymMCPTool(MCPBaseTool):
    def __init__(self, config: dict, tool_schema: OpenAIFunctionToolSchema):
        super().__init__(config, without_episode(tool_schema))

    async def _control(self, name: str, arguments: dict[str, Any]) -> Any:
        client = ClientManager.get_client_with_tool_name(self.name)
        async with client:
            return await client.call_tool_mcp(name, arguments)

    async def create(self, instance_id: Optional[str] = None, task_id: Optional[str] = None, **kwargs) -> str:
        instance_id = await super().create(instance_id, **kwargs)
        started = await self._control("gym_start", {"taskId": task_id} if task_id else {})
        if started.isError:
            raise RuntimeError(f"gym_start failed: {started.content}")
        self._instance_dict[instance_id]["episode"] = started.structuredContent["episode"]
        return instance_id

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs) -> Tuple[str, float, dict]:
        episode = self._instance_dict[instance_id]["episode"]
        return await super().execute(instance_id, {**parameters, EPISODE_ARG: episode}, **kwargs)

    async def calc_reward(self, instance_id: str, answer: str = "", **kwargs) -> float:
        episode = self._instance_dict[instance_id]["episode"]
        done = await self._control("gym_submit", {"answer": answer, EPISODE_ARG: episode})
        meta = done.meta or {}
        return float(meta.get("toolgym/reward", 0.0))

    def _parse_tool_result(self, content: list) -> Tuple[str, dict]:
        text = "\n".join(part.text for part in content if part.type == "text")
        return text, {"api_request_error": ""}


__all__ = ["ToolgymMCPTool", "without_episode"]
