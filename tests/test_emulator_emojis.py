"""The emulator's guild-modify and emoji routes, driven by the real disnake client: OpenAPI-checked
bodies, image data URIs, emoji slots by premium tier (30008), the CDN route."""

from __future__ import annotations

import base64

import disnake
import pytest
from test_emulator import run

from hlb.testing import Emulator

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64


def test_emoji_create_rename_roles_delete_and_the_cdn_serves_its_image() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        role = emu.state.add_role(guild_id, "ops")
        emoji = await guild.create_custom_emoji(name="party", image=PNG)
        assert emu.state.guilds[guild_id].emojis[emoji.id].image == PNG and not emoji.animated
        edited = await emoji.edit(name="partytime", roles=[disnake.Object(role.id)])
        assert edited.name == "partytime"
        assert emu.state.guilds[guild_id].emojis[emoji.id].roles == [role.id]
        host = emu.base_url.removesuffix("/api/v10")
        assert await client.http.get_from_cdn(f"{host}/emojis/{emoji.id}.png") == PNG
        await emoji.delete()
        assert emu.state.guilds[guild_id].emojis == {}
        with pytest.raises(disnake.NotFound):
            await guild.fetch_emoji(emoji.id)

    run(scenario)


def test_bad_image_data_and_bad_guild_settings_are_50035() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        emojis = disnake.http.Route("POST", "/guilds/{guild_id}/emojis", guild_id=guild_id)
        bmp = "data:image/png;base64," + base64.b64encode(b"BM" + b"\x00" * 64).decode()  # not a PNG
        with pytest.raises(disnake.HTTPException) as fake:
            await client.http.request(emojis, json={"name": "bad", "image": bmp})
        assert fake.value.code == 50035
        with pytest.raises(disnake.HTTPException) as big:
            await guild.create_custom_emoji(name="big", image=PNG + b"\x00" * (256 * 1024))
        assert big.value.code == 50035
        assert emu.state.guilds[guild_id].emojis == {}
        route = disnake.http.Route("PATCH", "/guilds/{guild_id}", guild_id=guild_id)
        with pytest.raises(disnake.HTTPException) as typed:
            await client.http.request(route, json={"verification_level": "medium"})  # a name, not 2
        assert typed.value.code == 50035 and emu.invalid_requests
        emu.invalid_requests.clear()
        text = await guild.create_text_channel("general")
        with pytest.raises(disnake.HTTPException) as afk:
            await client.http.request(route, json={"afk_channel_id": str(text.id)})  # not a voice channel
        assert afk.value.code == 50035
        await guild.edit(verification_level=disnake.VerificationLevel.high, system_channel=text)
        settings = emu.state.guilds[guild_id].settings
        assert settings == {"verification_level": 3, "system_channel_id": str(text.id)}

    run(scenario)


@pytest.mark.parametrize(("tier", "slots"), [(0, 50), (1, 100)])
@pytest.mark.timeout(600)
def test_emoji_slots_by_premium_tier_are_30008(tier: int, slots: int) -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        emu.state.guilds[guild_id].premium_tier = tier
        guild = await client.fetch_guild(guild_id)
        for n in range(slots):
            await guild.create_custom_emoji(name=f"e{n}", image=PNG)
        with pytest.raises(disnake.HTTPException) as full:
            await guild.create_custom_emoji(name="one_more", image=PNG)
        assert full.value.code == 30008
        animated = await guild.create_custom_emoji(name="dance", image=GIF)  # its own slots
        assert animated.animated

    run(scenario)
