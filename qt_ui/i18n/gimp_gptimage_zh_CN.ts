<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>ContextView</name>
    <message>
        <location filename="../context_view.py" line="16" />
        <source>Automatic (selection + surroundings)</source>
        <translation>自动（选区 + 周边）</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="17" />
        <source>Selection box + padding</source>
        <translation>选区外框 + 留边</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="18" />
        <source>Whole layer</source>
        <translation>整个图层</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="40" />
        <source>Pixels of surroundings around the selection box</source>
        <translation>选区外框四周附带的周边像素</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="42" />
        <source>Widen the editable area beyond the selection so the model can blend</source>
        <translation>把可编辑区域扩展到选区之外，便于模型融合过渡</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="44" />
        <source>Soft edge of the editable area</source>
        <translation>可编辑区域的柔化边缘</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="45" />
        <source>Match colours to the surroundings</source>
        <translation>颜色与周边匹配</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="46" />
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="48" />
        <source>Padding, mask growth and feathering</source>
        <translation>边距、蒙版扩展和羽化</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="49" />
        <source>Padding</source>
        <translation>留边</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="49" />
        <source>Grow mask</source>
        <translation>扩展蒙版</translation>
    </message>
    <message>
        <location filename="../context_view.py" line="52" />
        <source>Feather</source>
        <translation>羽化</translation>
    </message>
</context><context>
    <name>ErrorPanel</name>
    <message>
        <location filename="../run_view.py" line="74" />
        <source>Dismiss</source>
        <translation>关闭提示</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="101" />
        <source>HTTP status %1</source>
        <translation>HTTP 状态 %1</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="103" />
        <source>request id %1</source>
        <translation>请求 ID %1</translation>
    </message>
</context><context>
    <name>GimpLink</name>
    <message>
        <location filename="../gimp_link.py" line="77" />
        <source>Working</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location filename="../gimp_link.py" line="78" />
        <source>GPT Image: %1…</source>
        <translation>GPT Image：%1…</translation>
    </message>
    <message>
        <location filename="../gimp_link.py" line="79" />
        <source>GPT Image dialog open (Cancel here closes it; results stay in its history)</source>
        <translation>GPT Image 对话框已打开（在此取消会关闭它；结果保留在其历史记录中）</translation>
    </message>
    <message>
        <location filename="../gimp_link.py" line="109" />
        <source>The run was cancelled; whatever had arrived is kept in history.</source>
        <translation>运行已取消；已收到的结果保存在历史记录中。</translation>
    </message>
    <message numerus="yes">
        <location filename="../gimp_link.py" line="111" />
        <source>%n result(s) you did not insert are kept in history.</source>
        <translation>
            <numerusform>%n 个未插入的结果已保存在历史记录中。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../gimp_link.py" line="112" />
        <source>Open GPT Image again and insert them from its History tab.</source>
        <translation>请再次打开 GPT Image，在“历史记录”标签页中插入它们。</translation>
    </message>
    <message>
        <location filename="../gimp_link.py" line="115" />
        <source>GPT Image</source>
        <translation>GPT Image</translation>
    </message>
    <message>
        <location filename="../gimp_link.py" line="116" />
        <source>GIMP ended this GPT Image session (Cancel in its status bar, or GIMP closing): results can no longer be inserted into the image.</source>
        <translation>GIMP 结束了本次 GPT Image 会话（状态栏中的“取消”，或 GIMP 已关闭）：结果已无法再插入图像。</translation>
    </message>
</context><context>
    <name>GptImageDialog</name>
    <message>
        <location filename="../dialog.py" line="142" />
        <source>Set up a provider…</source>
        <translation>设置服务商…</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="164" />
        <source>Parameters</source>
        <translation>参数</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="166" />
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="169" />
        <source>Reference images</source>
        <translation>参考图像</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="186" />
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="187" />
        <source>What is sent</source>
        <translation>发送内容</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="188" />
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="198" />
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="204" />
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="244" />
        <source>Local offline engine</source>
        <translation>本地离线引擎</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="285" />
        <source>Enter a prompt to run.</source>
        <translation>输入提示词后即可运行。</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="287" />
        <source>Fix the highlighted settings to run.</source>
        <translation>请先修正标红的设置。</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="290" />
        <source>Ctrl+Enter runs</source>
        <translation>Ctrl+Enter 运行</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="334" />
        <source>Region %1 × %2 at (%3, %4) of the layer, sent as %5 × %6. Tinted: the area the model may change.</source>
        <translation>图层中 (%3, %4) 处 %1 × %2 的区域，以 %5 × %6 发送。着色部分为模型可以修改的区域。</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="340" />
        <source>Plus %1 reference image(s).</source>
        <translation>另附 %1 张参考图像。</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="350" />
        <source>Add reference images</source>
        <translation>添加参考图像</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="373" />
        <source>Image %1</source>
        <translation>图像 %1</translation>
    </message>
    <message>
        <location filename="../dialog.py" line="408" />
        <source>The provider is not ready: %1</source>
        <translation>服务商尚未就绪：%1</translation>
    </message>
    <message>
        <location filename="../describe.py" line="18" />
        <source>new image</source>
        <translation>新图像</translation>
    </message>
    <message>
        <location filename="../describe.py" line="20" />
        <source>Generate Layer — %1</source>
        <translation>生成图层 — %1</translation>
    </message>
    <message>
        <location filename="../describe.py" line="22" />
        <source>Fuse Layers — %1</source>
        <translation>融合图层 — %1</translation>
    </message>
    <message>
        <location filename="../describe.py" line="24" />
        <source>Edit Selection — %1</source>
        <translation>编辑选区 — %1</translation>
    </message>
    <message>
        <location filename="../describe.py" line="26" />
        <source>Edit Layer — %1</source>
        <translation>编辑图层 — %1</translation>
    </message>
    <message>
        <location filename="../describe.py" line="34" />
        <source>New layer from a prompt, sized to the canvas</source>
        <translation>根据提示词生成新图层，大小与画布一致</translation>
    </message>
    <message>
        <location filename="../describe.py" line="37" />
        <source>Fusing %1 layer(s) of %2 · “%3” (%4 × %5) first; the result becomes a new layer</source>
        <translation>正在融合 %2 的 %1 个图层 · 以“%3”（%4 × %5）为首；结果成为新图层</translation>
    </message>
    <message>
        <location filename="../describe.py" line="42" />
        <source>selection</source>
        <translation>选区</translation>
    </message>
    <message>
        <location filename="../describe.py" line="43" />
        <source>whole layer</source>
        <translation>整个图层</translation>
    </message>
    <message>
        <location filename="../describe.py" line="44" />
        <source>Editing %1 · layer “%2” (%3 × %4) · %5</source>
        <translation>正在编辑 %1 · 图层“%2”（%3 × %4）· %5</translation>
    </message>
</context><context>
    <name>HistoryView</name>
    <message>
        <location filename="../history_view.py" line="61" />
        <source>cost unknown</source>
        <translation>费用未知</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="69" />
        <source>%1 %2 (1 request)</source>
        <translation>%1 %2（1 次请求）</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="71" />
        <source>%1 %2 (%3 requests)</source>
        <translation>%1 %2（%3 次请求）</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="75" />
        <source>+%1 of unknown cost</source>
        <translation>另有 %1 次费用未知</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="77" />
        <source>Spent: %1</source>
        <translation>已花费：%1</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="108" />
        <source>From the usage each provider reported, at OpenAI's token prices.</source>
        <translation>按各服务商报告的用量，以 OpenAI 的 token 价格计算。</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="115" />
        <source>Reload</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="116" />
        <source>Insert again</source>
        <translation>再次插入</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="162" />
        <source>No results yet: every result is kept here, even after a crash.</source>
        <translation>暂无结果：每个结果都会保存在这里，即使程序崩溃也不会丢失。</translation>
    </message>
    <message>
        <location filename="../history_view.py" line="164" />
        <source>%1 result(s). Double-click one to insert it again.</source>
        <translation>共 %1 个结果。双击即可再次插入。</translation>
    </message>
</context><context>
    <name>JobController</name>
    <message numerus="yes">
        <location filename="../controller.py" line="232" />
        <source>%n result(s) saved in history.</source>
        <translation>
            <numerusform>%n 个结果已保存到历史记录。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../controller.py" line="240" />
        <source>Cancelled. Nothing was inserted; results that had arrived are in history.</source>
        <translation>已取消。未插入任何内容；已收到的结果保存在历史记录中。</translation>
    </message>
    <message numerus="yes">
        <location filename="../controller.py" line="246" />
        <source>%n result(s) arrived before the failure; they are saved in history.</source>
        <translation>
            <numerusform>失败前已收到 %n 个结果，均已保存到历史记录。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../controller.py" line="347" />
        <source>Inserted at %1: %2</source>
        <translation>%1 已插入：%2</translation>
    </message>
</context><context>
    <name>Messages</name>
    <message>
        <location filename="../messages.py" line="22" />
        <source>Enter a prompt.</source>
        <translation>请输入提示词。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="25" />
        <source>An edit needs at least one image.</source>
        <translation>编辑至少需要一张图像。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="30" />
        <source>The prompt is too long: {got} characters, at most {max} allowed.</source>
        <translation>提示词过长：{got} 个字符，最多允许 {max} 个。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="35" />
        <source>Too many images: {got}, at most {max} in all (the layer included).</source>
        <translation>图像过多：{got} 张，总数最多 {max} 张（含当前图层）。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="40" />
        <source>'{param}' must be at least {low} (got {got}).</source>
        <translation>“{param}”至少为 {low}（当前为 {got}）。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="45" />
        <source>'{param}' must be at most {high} (got {got}).</source>
        <translation>“{param}”最多为 {high}（当前为 {got}）。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="49" />
        <source>Size {size}: width and height must both be multiples of {grid}.</source>
        <translation>尺寸 {size}：宽和高都必须是 {grid} 的倍数。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="53" />
        <source>Size {size}: width and height must both be at most {edge} pixels.</source>
        <translation>尺寸 {size}：宽和高都不能超过 {edge} 像素。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="58" />
        <source>Size {size}: {got} pixels in all; it must be between {low} and {high}.</source>
        <translation>尺寸 {size}：总像素为 {got}，必须在 {low} 到 {high} 之间。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="62" />
        <source>Size {size}: the long edge may be at most 3 times the short edge.</source>
        <translation>尺寸 {size}：长边最多为短边的 3 倍。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="66" />
        <source>Size {size}: write it as WIDTHxHEIGHT, for example 1536x1024.</source>
        <translation>尺寸 {size}：请写成 宽x高，例如 1536x1024。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="70" />
        <source>'{value}' is not allowed here; use one of {allowed}.</source>
        <translation>此处不允许“{value}”；可选值：{allowed}。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="74" />
        <source>This model cannot make transparent backgrounds.</source>
        <translation>该模型不支持透明背景。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="78" />
        <source>A transparent background needs PNG or WebP output, not JPEG.</source>
        <translation>透明背景需要 PNG 或 WebP 格式输出，不能用 JPEG。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="83" />
        <source>Compression applies only to JPEG or WebP output.</source>
        <translation>压缩率仅适用于 JPEG 或 WebP 输出。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="87" />
        <source>Partial images need streaming switched on.</source>
        <translation>预览图需要开启流式传输。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="96" />
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../messages.py" line="97" />
        <source>Invalid parameters</source>
        <translation>参数无效</translation>
    </message>
    <message>
        <location filename="../messages.py" line="98" />
        <source>Nothing was sent.</source>
        <translation>未发送任何内容。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="99" />
        <source>Configuration problem</source>
        <translation>配置问题</translation>
    </message>
    <message>
        <location filename="../messages.py" line="100" />
        <source>The provider rejected the request</source>
        <translation>服务商拒绝了请求</translation>
    </message>
    <message>
        <location filename="../messages.py" line="101" />
        <source>Check the parameters named in the message.</source>
        <translation>请检查消息中提到的参数。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="102" />
        <source>The API key was not accepted</source>
        <translation>API 密钥未被接受</translation>
    </message>
    <message>
        <location filename="../messages.py" line="103" />
        <source>Enter a valid key for this provider in Settings.</source>
        <translation>请在设置中为该服务商输入有效的密钥。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="104" />
        <source>This key may not use this model or endpoint</source>
        <translation>该密钥无权使用此模型或接口</translation>
    </message>
    <message>
        <location filename="../messages.py" line="105" />
        <source>Check the key's organisation and model access.</source>
        <translation>请检查密钥所属组织及模型访问权限。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="106" />
        <source>The provider does not know this model or address</source>
        <translation>服务商不认识此模型或地址</translation>
    </message>
    <message>
        <location filename="../messages.py" line="107" />
        <source>Check the model name and the base URL.</source>
        <translation>请检查模型名称和基础 URL。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="108" />
        <source>The provider is rate limiting or out of quota</source>
        <translation>服务商正在限流或额度已用完</translation>
    </message>
    <message>
        <location filename="../messages.py" line="109" />
        <source>Wait a little, or check the account's quota.</source>
        <translation>请稍候，或检查账户额度。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="110" />
        <source>The provider failed to answer</source>
        <translation>服务商未能响应</translation>
    </message>
    <message>
        <location filename="../messages.py" line="111" />
        <source>This is usually temporary; try again in a minute.</source>
        <translation>这通常是暂时的，请一分钟后重试。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="112" />
        <source>The provider did not answer in time</source>
        <translation>服务商未在规定时间内响应</translation>
    </message>
    <message>
        <location filename="../messages.py" line="113" />
        <source>Could not reach the provider</source>
        <translation>无法连接到服务商</translation>
    </message>
    <message>
        <location filename="../messages.py" line="114" />
        <source>Check the base URL and your network connection.</source>
        <translation>请检查基础 URL 和网络连接。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="115" />
        <source>The provider's answer was unusable</source>
        <translation>服务商的响应无法使用</translation>
    </message>
    <message>
        <location filename="../messages.py" line="116" />
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <location filename="../messages.py" line="117" />
        <source>Out of memory</source>
        <translation>内存不足</translation>
    </message>
    <message>
        <location filename="../messages.py" line="118" />
        <source>The image is too large to process.</source>
        <translation>图像过大，无法处理。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="119" />
        <source>Use a smaller selection.</source>
        <translation>请使用更小的选区。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="120" />
        <source>File problem</source>
        <translation>文件问题</translation>
    </message>
    <message>
        <location filename="../messages.py" line="121" />
        <source>Unexpected error</source>
        <translation>意外错误</translation>
    </message>
    <message>
        <location filename="../messages.py" line="122" />
        <source>The request was cancelled.</source>
        <translation>请求已取消。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="123" />
        <source>Results that had already arrived are kept in history.</source>
        <translation>已收到的结果保存在历史记录中。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="124" />
        <source>The provider refused the upload as too large</source>
        <translation>服务商拒绝了过大的上传</translation>
    </message>
    <message>
        <location filename="../messages.py" line="125" />
        <source>Select a smaller area, or use fewer or smaller reference images.</source>
        <translation>请选择更小的区域，或使用更少、更小的参考图像。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="126" />
        <source>The provider's address redirects elsewhere</source>
        <translation>服务商地址重定向到了别处</translation>
    </message>
    <message>
        <location filename="../messages.py" line="127" />
        <source>Enter the address it redirects to as the base URL.</source>
        <translation>请将重定向后的地址填写为基础 URL。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="128" />
        <source>Check the base URL and the parameters named in the message.</source>
        <translation>请检查基础 URL 以及消息中指出的参数。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="129" />
        <source>The provider's safety system refused the request</source>
        <translation>服务商的安全系统拒绝了该请求</translation>
    </message>
    <message>
        <location filename="../messages.py" line="130" />
        <source>Rephrase the prompt or use another image; a refused request produces no image.</source>
        <translation>请改写提示词或换一张图像；被拒绝的请求不会生成图像。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="131" />
        <source>The account is out of credit or quota</source>
        <translation>账户余额或配额已用完</translation>
    </message>
    <message>
        <location filename="../messages.py" line="132" />
        <source>Check the plan and billing details with the provider; waiting will not help.</source>
        <translation>请向服务商核实套餐与账单信息；等待无济于事。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="133" />
        <source>The provider may be overloaded: try again later, or turn on streaming, which keeps a long render's connection alive.</source>
        <translation>服务商可能负载过高：请稍后再试，或开启流式传输，以保持长时间生成时的连接。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="137" />
        <source>The provider's host name was not found</source>
        <translation>找不到服务商的主机名</translation>
    </message>
    <message>
        <location filename="../messages.py" line="138" />
        <source>Check the spelling of the base URL and that this computer is online.</source>
        <translation>请检查基础 URL 的拼写，并确认本机已联网。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="139" />
        <source>The provider's security certificate was not accepted</source>
        <translation>服务商的安全证书未被接受</translation>
    </message>
    <message>
        <location filename="../messages.py" line="140" />
        <source>If a company proxy or antivirus inspects HTTPS, install its certificate in the system's trust store (or point SSL_CERT_FILE at it); certificate checks stay on to protect the API key.</source>
        <translation>如果公司代理或杀毒软件会检查 HTTPS，请将其证书安装到系统信任库（或用 SSL_CERT_FILE 指向它）；为保护 API 密钥，证书校验始终开启。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="144" />
        <source>The connection to the provider broke</source>
        <translation>与服务商的连接中断</translation>
    </message>
    <message>
        <location filename="../messages.py" line="145" />
        <source>Try again; results that had already arrived are kept in history.</source>
        <translation>请重试；已收到的结果保存在历史记录中。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="146" />
        <source>Try again; if it keeps happening, report it to the provider with the request id.</source>
        <translation>请重试；如果反复出现，请附上请求 ID 向服务商反馈。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="149" />
        <source>The disk is full</source>
        <translation>磁盘已满</translation>
    </message>
    <message>
        <location filename="../messages.py" line="150" />
        <source>Free some disk space, then try again.</source>
        <translation>请释放一些磁盘空间后重试。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="151" />
        <source>Check that the folder exists and can be written to.</source>
        <translation>请检查文件夹是否存在且可写入。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="153" />
        <source>No provider is set up: using the embedded offline engine (free, private, no key needed).</source>
        <translation>尚未设置服务商：使用内置的本地离线引擎（免费、私密，无需密钥）。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="156" />
        <source>It uses the MI-GAN inpainting model: it removes what the selection covers and does not follow the prompt.</source>
        <translation>它使用 MI-GAN 修复模型：移除选区覆盖的内容，不会遵循提示词。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="166" />
        <source>The provider asks to wait {seconds} s; try again then, or check the quota.</source>
        <translation>服务商要求等待 {seconds} 秒；请届时重试，或检查配额。</translation>
    </message>
    <message>
        <location filename="../messages.py" line="173" />
        <source>{arrived} of {requested} images arrived.</source>
        <translation>请求了 {requested} 张图像，收到 {arrived} 张。</translation>
    </message>
</context><context>
    <name>MoreToggle</name>
    <message>
        <location filename="../more.py" line="22" />
        <source>More</source>
        <translation>更多</translation>
    </message>
</context><context>
    <name>ParamsView</name>
    <message>
        <location filename="../params_view.py" line="57" />
        <location filename="../params_view.py" line="52" />
        <location filename="../params_view.py" line="38" />
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="57" />
        <location filename="../params_view.py" line="47" />
        <location filename="../params_view.py" line="39" />
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="48" />
        <location filename="../params_view.py" line="40" />
        <source>Medium</source>
        <translation>中</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="49" />
        <location filename="../params_view.py" line="41" />
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="42" />
        <source>Extra high</source>
        <translation>超高</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="43" />
        <source>Maximum</source>
        <translation>最高</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="46" />
        <source>Model default</source>
        <translation>模型默认</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="53" />
        <source>Opaque</source>
        <translation>不透明</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="54" />
        <source>Transparent</source>
        <translation>透明</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="80" />
        <source>Where requests go; manage providers and keys in Settings</source>
        <translation>请求发往何处；在设置中管理服务商和密钥</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="81" />
        <source>Provider</source>
        <translation>服务商</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="86" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="102" />
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="105" />
        <source>Quality</source>
        <translation>质量</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="107" />
        <source>Markup</source>
        <translation>标注</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="112" />
        <source>How many variations to make</source>
        <translation>生成多少个变体</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="113" />
        <source>Images</source>
        <translation>数量</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="115" />
        <source>Planning, background, format, moderation and streaming</source>
        <translation>规划深度、背景、格式、内容审核和流式传输</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="118" />
        <source>Planning</source>
        <translation>规划深度</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="121" />
        <source>Background</source>
        <translation>背景</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="127" />
        <source>Output compression (JPEG and WebP only)</source>
        <translation>输出压缩率（仅 JPEG 和 WebP）</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="132" />
        <source>Compression</source>
        <translation>压缩率</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="135" />
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="138" />
        <source>Moderation</source>
        <translation>内容审核</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="140" />
        <source>Show progress</source>
        <translation>显示过程</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="141" />
        <source>Show the image while it is being made</source>
        <translation>在生成过程中显示图像</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="144" />
        <source>Partial images to show before the final one</source>
        <translation>最终结果之前显示的预览图数量</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="150" />
        <source>Partial images</source>
        <translation>预览图</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="153" />
        <source>Streaming</source>
        <translation>流式传输</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="207" />
        <source>Not in gimp-gptimage's table: sent as is</source>
        <translation>不在 gimp-gptimage 的模型表中：按原样发送</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="234" />
        <source>%1 does not offer this quality</source>
        <translation>%1 不提供此质量</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="240" />
        <source>%1 cannot make transparent backgrounds</source>
        <translation>%1 无法生成透明背景</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="245" />
        <source>How long the model plans before it draws (no extra cost)</source>
        <translation>模型在绘制前规划的深度（不额外收费）</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="247" />
        <source>%1 does not take a planning depth; 2.6 models do</source>
        <translation>%1 不支持规划深度；2.6 模型支持</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="253" />
        <source>No markup layer</source>
        <translation>没有标注图层</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="254" />
        <source>Draw arrows, circles and notes on a visible layer named 'markup' to guide 2.6 models</source>
        <translation>在名为“markup”的可见图层上画箭头、圆圈和注释，为 2.6 模型指明要改的地方</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="257" />
        <source>%1 does not read markup; 2.6 models do</source>
        <translation>%1 不读取标注；2.6 模型可以</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="259" />
        <source>Use the layer '%1' as markup</source>
        <translation>将图层“%1”用作标注</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="260" />
        <source>The marks tell the model what to change; the layer is never sent as a reference</source>
        <translation>标注告诉模型要改什么；该图层绝不会作为参考图发送</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="305" />
        <source>Custom…</source>
        <translation>自定义…</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="312" />
        <source>Auto (the model chooses)</source>
        <translation>自动（由模型决定）</translation>
    </message>
    <message>
        <location filename="../params_view.py" line="313" />
        <source>Auto (fit the region)</source>
        <translation>自动（适配区域）</translation>
    </message>
</context><context>
    <name>Price</name>
    <message>
        <location filename="../price.py" line="24" />
        <source>1 image</source>
        <translation>1 张图像</translation>
    </message>
    <message>
        <location filename="../price.py" line="24" />
        <source>%1 images</source>
        <translation>%1 张图像</translation>
    </message>
    <message>
        <location filename="../price.py" line="64" />
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../price.py" line="65" />
        <source>Run · %1</source>
        <translation>运行 · %1</translation>
    </message>
    <message>
        <location filename="../price.py" line="76" />
        <source>The offline engine on this computer costs nothing.</source>
        <translation>本机的离线引擎不收取任何费用。</translation>
    </message>
    <message>
        <location filename="../price.py" line="78" />
        <source>No price known for this model or quality yet; the cost is shown after the run.</source>
        <translation>尚不知道此模型或质量的价格；运行后会显示实际费用。</translation>
    </message>
    <message>
        <location filename="../price.py" line="80" />
        <source>Estimated from your own past results with this model, quality and size.</source>
        <translation>根据你以往使用此模型、质量和尺寸的结果估算。</translation>
    </message>
    <message>
        <location filename="../price.py" line="81" />
        <source>Estimate from built-in figures (no past results with this model, quality and size yet).</source>
        <translation>按内置数据估算（尚无此模型、质量和尺寸的以往结果）。</translation>
    </message>
    <message>
        <location filename="../price.py" line="100" />
        <source>Send the request (Ctrl+Enter)</source>
        <translation>发送请求（Ctrl+Enter）</translation>
    </message>
    <message>
        <location filename="../price.py" line="111" />
        <source>an unknown amount</source>
        <translation>未知金额</translation>
    </message>
    <message>
        <location filename="../price.py" line="112" />
        <source>This run makes %1 and costs about %2.</source>
        <translation>本次运行将生成 %1，费用约 %2。</translation>
    </message>
    <message>
        <location filename="../price.py" line="115" />
        <source>Send a costly request?</source>
        <translation>发送高费用请求？</translation>
    </message>
    <message>
        <location filename="../price.py" line="120" />
        <source>It is above the limits set in Settings. Send it?</source>
        <translation>已超出设置中的限额。仍要发送吗？</translation>
    </message>
    <message>
        <location filename="../price.py" line="124" />
        <source>Send</source>
        <translation>发送</translation>
    </message>
</context><context>
    <name>PromptView</name>
    <message>
        <location filename="../prompt_view.py" line="38" />
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <location filename="../prompt_view.py" line="41" />
        <source>Recent</source>
        <translation>最近</translation>
    </message>
    <message>
        <location filename="../prompt_view.py" line="42" />
        <source>Use a prompt you ran before</source>
        <translation>使用以前运行过的提示词</translation>
    </message>
    <message>
        <location filename="../prompt_view.py" line="55" />
        <source>Ctrl+Enter runs</source>
        <translation>Ctrl+Enter 运行</translation>
    </message>
    <message>
        <location filename="../prompt_view.py" line="70" />
        <source>Describe the picture, e.g. “a lighthouse at dusk, watercolour”</source>
        <translation>描述画面，例如“黄昏时的灯塔，水彩画”</translation>
    </message>
    <message>
        <location filename="../prompt_view.py" line="72" />
        <source>Describe how to combine the layers, e.g. “put the cat from the second on the sofa”</source>
        <translation>描述如何组合这些图层，例如“把第二个图层里的猫放到沙发上”</translation>
    </message>
    <message>
        <location filename="../prompt_view.py" line="73" />
        <source>Describe the change, e.g. “replace the sky with a stormy sunset”</source>
        <translation>描述要做的修改，例如“把天空换成暴风雨中的日落”</translation>
    </message>
</context><context>
    <name>ReferencesView</name>
    <message>
        <location filename="../references_view.py" line="81" />
        <source>Drag to change the order; the first images weigh most. Image files can be dropped here.</source>
        <translation>拖动以调整顺序；排在前面的图像权重更高。也可以把图像文件拖放到这里。</translation>
    </message>
    <message>
        <location filename="../references_view.py" line="87" />
        <source>Add file…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../references_view.py" line="88" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../references_view.py" line="93" />
        <source>Move earlier</source>
        <translation>前移</translation>
    </message>
    <message>
        <location filename="../references_view.py" line="94" />
        <source>Move later</source>
        <translation>后移</translation>
    </message>
    <message>
        <location filename="../references_view.py" line="127" />
        <source>%1 of %2 images (the layer counts as one)</source>
        <translation>已用 %1 / %2 张图像（当前图层算一张）</translation>
    </message>
</context><context>
    <name>ResultTile</name>
    <message>
        <location filename="../results_view.py" line="34" />
        <source>Insert</source>
        <translation>插入</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="42" />
        <source>Waiting…</source>
        <translation>等待中…</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="52" />
        <location filename="../results_view.py" line="43" />
        <source>Image %1</source>
        <translation>图像 %1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="54" />
        <source>Image %1 · %2 (not finished)</source>
        <translation>图像 %1 · %2（未完成）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="59" />
        <source>Image %1 · in progress</source>
        <translation>图像 %1 · 生成中</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="65" />
        <source>Image %1 · %2 × %3</source>
        <translation>图像 %1 · %2 × %3</translation>
    </message>
</context><context>
    <name>ResultsView</name>
    <message>
        <location filename="../results_view.py" line="91" />
        <source>Results appear here. Write a prompt and press Run (Ctrl+Enter).</source>
        <translation>结果会显示在这里。写好提示词后点击“运行”（Ctrl+Enter）。</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="100" />
        <source>Insert all</source>
        <translation>全部插入</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="135" />
        <source>Insert again</source>
        <translation>再次插入</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="138" />
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="138" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
</context><context>
    <name>RunView</name>
    <message>
        <location filename="../run_view.py" line="17" />
        <source>Preparing</source>
        <translation>准备中</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="18" />
        <source>Uploading</source>
        <translation>上传中</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="19" />
        <source>Generating</source>
        <translation>生成中</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="20" />
        <source>Downloading</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="21" />
        <source>Finishing</source>
        <translation>收尾中</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="22" />
        <source>Saving</source>
        <translation>保存中</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="23" />
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="36" />
        <source>No cost: the offline engine is free.</source>
        <translation>无费用：离线引擎免费。</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="39" />
        <source>input %1 tokens</source>
        <translation>输入 %1 tokens</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="41" />
        <source>output %1 tokens</source>
        <translation>输出 %1 tokens</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="43" />
        <source>total %1</source>
        <translation>合计 %1</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="46" />
        <source>Usage: %1</source>
        <translation>用量：%1</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="48" />
        <source>cost %1</source>
        <translation>费用 %1</translation>
    </message>
    <message>
        <location filename="../run_view.py" line="127" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context><context>
    <name>SentPreview</name>
    <message>
        <location filename="../context_view.py" line="71" />
        <source>The preview of what will be sent appears here.</source>
        <translation>将要发送的内容预览会显示在这里。</translation>
    </message>
</context><context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../settings_dialog.py" line="105" />
        <source>GPT Image settings</source>
        <translation>GPT Image 设置</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="110" />
        <source>Providers</source>
        <translation>服务商</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="113" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="113" />
        <source>Base URL</source>
        <translation>基础 URL</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="113" />
        <source>Default model</source>
        <translation>默认模型</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="126" />
        <source>Add provider</source>
        <translation>添加服务商</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="127" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="139" />
        <source>API key for the selected provider</source>
        <translation>所选服务商的 API 密钥</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="143" />
        <source>Paste the key; it is kept in the system keychain, never in a file</source>
        <translation>粘贴密钥；它只保存在系统钥匙串中，绝不写入文件</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="146" />
        <source>Save key</source>
        <translation>保存密钥</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="147" />
        <source>Forget key</source>
        <translation>删除密钥</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="148" />
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="152" />
        <source>Key</source>
        <translation>密钥</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="159" />
        <source>General</source>
        <translation>常规</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="162" />
        <source>Use provider</source>
        <translation>使用的服务商</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="164" />
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="168" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="169" />
        <source>A new language applies the next time the dialog opens.</source>
        <translation>新的语言将在下次打开对话框时生效。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="174" />
        <source>High quality can take minutes to draw.</source>
        <translation>高质量图像可能需要几分钟生成。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="176" />
        <source>An answer under way arrives quickly; one that stops is given up on.</source>
        <translation>已开始传输的回应会很快到达；中途停下的回应将被放弃。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="178" />
        <source>or, once it has begun, if it stops for</source>
        <translation>或在开始传输后中断超过</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="180" />
        <source>Wait for an answer up to</source>
        <translation>等待回应最长</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="183" />
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="215" />
        <location filename="../settings_dialog.py" line="189" />
        <source>No limit</source>
        <translation>不限</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="191" />
        <source>Keep at most</source>
        <translation>最多保留</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="194" />
        <source> days</source>
        <translation> 天</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="195" />
        <source>Forever</source>
        <translation>永久</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="197" />
        <source>Keep results for</source>
        <translation>结果保留</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="198" />
        <source>Nothing is ever deleted unless you set a limit here; oldest go first.</source>
        <translation>除非在此设置上限，否则不会删除任何内容；超出时先删最旧的。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="203" />
        <source>Spending</source>
        <translation>费用</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="208" />
        <source> images</source>
        <translation> 张图像</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="209" />
        <source>Ask before a run of more than</source>
        <translation>运行前询问，若图像多于</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="217" />
        <source>or costing more than</source>
        <translation>或费用高于</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="218" />
        <source>Costs are estimated at OpenAI's token prices; a relay bills by its own.</source>
        <translation>费用按 OpenAI 的 token 价格估算；中转服务按其自身规则计费。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="254" />
        <source>custom</source>
        <translation>自定义</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="279" />
        <source>Local offline engine (no key)</source>
        <translation>本地离线引擎（无需密钥）</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="294" />
        <source>Select a provider above.</source>
        <translation>请在上方选择一个服务商。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="300" />
        <source>A key for “%1” is stored in the system keychain.</source>
        <translation>“%1”的密钥已保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="303" />
        <source>No key stored; GPTIMAGE_API_KEY / OPENAI_API_KEY from the environment is used.</source>
        <translation>未保存密钥；将使用环境变量 GPTIMAGE_API_KEY / OPENAI_API_KEY。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="306" />
        <source>No key stored for “%1”.</source>
        <translation>尚未保存“%1”的密钥。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="336" />
        <source>Enter a key first.</source>
        <translation>请先输入密钥。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="339" />
        <source>Testing %1 …</source>
        <translation>正在测试 %1 …</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="347" />
        <source>Connected: the provider answered and accepted the key.</source>
        <translation>连接成功：服务商已响应并接受了密钥。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="349" />
        <source>Image models: %1.</source>
        <translation>图像模型：%1。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="352" />
        <source>Connection failed: %1</source>
        <translation>连接失败：%1</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="379" />
        <source>Each provider needs its own name.</source>
        <translation>每个服务商都需要一个不同的名称。</translation>
    </message>
</context></TS>
